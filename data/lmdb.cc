// LMDB reader and writer.  The reader keeps the key list in one string plus
// offsets; the writer buffers one batch of puts so that a commit that hits
// MDB_MAP_FULL can be replayed after doubling the map.
#include "data/lmdb.h"

#include <glog/logging.h>
#include <lmdb.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

namespace banyan {
namespace {

MDB_val to_val(std::string_view s) {
  MDB_val v;
  v.mv_size = s.size();
  v.mv_data = const_cast<char*>(s.data());
  return v;
}

std::string_view from_val(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

// A read-only transaction that is aborted when it goes out of scope.
class ReadTxn {
 public:
  ReadTxn() = default;
  ~ReadTxn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;
  int begin(MDB_env* env) { return mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_); }
  MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
};

// 0: missing, 1: a directory, 2: something else.
int path_kind(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return S_ISDIR(st.st_mode) ? 1 : 2;
}

}  // namespace

// ---------------------------------------------------------------------------
// LmdbReader

LmdbReader::~LmdbReader() { close(); }

LmdbReader::LmdbReader(LmdbReader&& other) noexcept { *this = std::move(other); }

LmdbReader& LmdbReader::operator=(LmdbReader&& other) noexcept {
  if (this != &other) {
    close();
    path_ = std::move(other.path_);
    env_ = std::exchange(other.env_, nullptr);
    dbi_ = other.dbi_;
    key_bytes_ = std::move(other.key_bytes_);
    key_offsets_ = std::move(other.key_offsets_);
  }
  return *this;
}

void LmdbReader::close() {
  if (env_ != nullptr) mdb_env_close(env_);
  env_ = nullptr;
  key_bytes_.clear();
  key_offsets_.clear();
}

Status LmdbReader::error(const std::string& what, int rc) const {
  return Status::io_error("LMDB '" + path_ + "': " + what + ": " + mdb_strerror(rc));
}

Status LmdbReader::open(const std::string& path, LmdbReader* out) {
  const int kind = path_kind(path);
  if (kind == 0) return Status::not_found("LMDB '" + path + "' not found");
  if (kind == 2) {
    return Status::invalid_argument(
        "LMDB '" + path + "' is not a directory (an LMDB is a directory holding data.mdb)");
  }
  if (path_kind(path + "/data.mdb") == 0) {
    return Status::not_found("LMDB '" + path + "' not found (no data.mdb in the directory)");
  }
  LmdbReader r;
  r.path_ = path;
  const unsigned int flags = MDB_RDONLY | MDB_NOTLS;
  int rc = mdb_env_create(&r.env_);
  if (rc != 0) return r.error("cannot create environment", rc);
  rc = mdb_env_open(r.env_, path.c_str(), flags, 0664);
  if (rc == EACCES || rc == EROFS) {
    // No lock file can be created (read-only directory): open without locking.
    mdb_env_close(r.env_);
    r.env_ = nullptr;
    rc = mdb_env_create(&r.env_);
    if (rc == 0) rc = mdb_env_open(r.env_, path.c_str(), flags | MDB_NOLOCK, 0664);
  }
  if (rc != 0) {
    Status s = r.error("cannot open", rc);
    if (r.env_ != nullptr) mdb_env_close(r.env_);
    r.env_ = nullptr;
    return s;
  }
  // The database handle outlives the transaction that opens it only if that
  // transaction commits.
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(r.env_, nullptr, MDB_RDONLY, &txn)) != 0) {
    return r.error("cannot begin a read transaction", rc);
  }
  MDB_dbi dbi;
  if ((rc = mdb_dbi_open(txn, nullptr, 0, &dbi)) != 0) {
    mdb_txn_abort(txn);
    return r.error("cannot open the database", rc);
  }
  if ((rc = mdb_txn_commit(txn)) != 0) return r.error("cannot open the database", rc);
  r.dbi_ = dbi;
  BANYAN_RETURN_IF_ERROR(r.load_keys());
  *out = std::move(r);
  return Status::success();
}

Status LmdbReader::load_keys() {
  MDB_stat stat;
  int rc = mdb_env_stat(env_, &stat);
  if (rc != 0) return error("cannot read statistics", rc);
  key_offsets_.clear();
  key_offsets_.reserve(stat.ms_entries + 1);
  key_offsets_.push_back(0);
  key_bytes_.clear();
  return for_each([this](std::string_view key, std::string_view) {
    key_bytes_.append(key);
    key_offsets_.push_back(key_bytes_.size());
    return Status::success();
  });
}

std::string_view LmdbReader::key_at(size_t position) const {
  CHECK_LT(position, size()) << "LMDB '" << path_ << "'";
  return std::string_view(key_bytes_)
      .substr(key_offsets_[position], key_offsets_[position + 1] - key_offsets_[position]);
}

std::vector<std::string> LmdbReader::keys() const {
  std::vector<std::string> keys;
  keys.reserve(size());
  for (size_t i = 0; i < size(); ++i) keys.emplace_back(key_at(i));
  return keys;
}

Status LmdbReader::get(std::string_view key, std::string* value) const {
  CHECK(env_ != nullptr) << "LmdbReader used before Open";
  ReadTxn txn;
  int rc = txn.begin(env_);
  if (rc != 0) return error("cannot begin a read transaction", rc);
  MDB_val k = to_val(key), v;
  rc = mdb_get(txn.get(), dbi_, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return Status::not_found("key '" + std::string(key) + "' not in LMDB '" + path_ + "'");
  }
  if (rc != 0) return error("cannot read key '" + std::string(key) + "'", rc);
  value->assign(static_cast<const char*>(v.mv_data), v.mv_size);
  return Status::success();
}

Status LmdbReader::get_at(size_t position, std::string* value) const {
  return get(key_at(position), value);
}

Status LmdbReader::get_batch(const std::vector<size_t>& positions,
                             std::vector<std::string>* values) const {
  CHECK(env_ != nullptr) << "LmdbReader used before Open";
  values->resize(positions.size());
  ReadTxn txn;
  int rc = txn.begin(env_);
  if (rc != 0) return error("cannot begin a read transaction", rc);
  for (size_t i = 0; i < positions.size(); ++i) {
    std::string_view key = key_at(positions[i]);
    MDB_val k = to_val(key), v;
    rc = mdb_get(txn.get(), dbi_, &k, &v);
    if (rc != 0) return error("cannot read key '" + std::string(key) + "'", rc);
    (*values)[i].assign(static_cast<const char*>(v.mv_data), v.mv_size);
  }
  return Status::success();
}

Status LmdbReader::for_each(
    const std::function<Status(std::string_view, std::string_view)>& fn) const {
  CHECK(env_ != nullptr) << "LmdbReader used before Open";
  ReadTxn txn;
  int rc = txn.begin(env_);
  if (rc != 0) return error("cannot begin a read transaction", rc);
  MDB_cursor* cursor = nullptr;
  if ((rc = mdb_cursor_open(txn.get(), dbi_, &cursor)) != 0) {
    return error("cannot open a cursor", rc);
  }
  MDB_val k, v;
  Status status;
  while ((rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) == 0) {
    status = fn(from_val(k), from_val(v));
    if (!status.ok()) break;
  }
  mdb_cursor_close(cursor);
  if (!status.ok()) return status;
  if (rc != MDB_NOTFOUND) return error("cannot iterate", rc);
  return Status::success();
}

// ---------------------------------------------------------------------------
// LmdbWriter

Status prepare_new_lmdb(const std::string& path, bool overwrite) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::success();
  if (!overwrite) {
    return Status::invalid_argument("output LMDB '" + path +
                                    "' already exists (pass --overwrite to replace it)");
  }
  if (!fs::is_directory(path, ec)) {
    return Status::invalid_argument("'" + path +
                                    "' exists and is not a directory; not removing it");
  }
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(path, ec)) {
    std::string name = e.path().filename().string();
    if (name != "data.mdb" && name != "lock.mdb") {
      return Status::invalid_argument("'" + path + "' holds '" + name +
                                      "', so it is not only an LMDB; not removing it");
    }
    files.push_back(e.path());
  }
  if (ec) return Status::io_error("cannot list '" + path + "': " + ec.message());
  for (const fs::path& f : files) {
    if (!fs::remove(f, ec)) {
      return Status::io_error("cannot remove '" + f.string() + "': " + ec.message());
    }
  }
  return Status::success();
}

LmdbWriter::~LmdbWriter() { release(); }

LmdbWriter::LmdbWriter(LmdbWriter&& other) noexcept { *this = std::move(other); }

LmdbWriter& LmdbWriter::operator=(LmdbWriter&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    options_ = other.options_;
    env_ = std::exchange(other.env_, nullptr);
    map_bytes_ = other.map_bytes_;
    pending_ = std::move(other.pending_);
  }
  return *this;
}

void LmdbWriter::release() {
  if (env_ != nullptr) mdb_env_close(env_);
  env_ = nullptr;
  pending_.clear();
}

Status LmdbWriter::error(const std::string& what, int rc) const {
  return Status::io_error("LMDB '" + path_ + "': " + what + ": " + mdb_strerror(rc));
}

Status LmdbWriter::open(const std::string& path, const LmdbWriterOptions& options,
                        LmdbWriter* out) {
  if (options.batch_size <= 0 || options.initial_map_bytes == 0) {
    return Status::invalid_argument("LMDB '" + path +
                                    "': batch_size and initial_map_bytes must be positive");
  }
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return Status::io_error("LMDB '" + path + "': cannot create the directory: " + ec.message());
  }
  LmdbWriter w;
  w.path_ = path;
  w.options_ = options;
  int rc = mdb_env_create(&w.env_);
  if (rc != 0) return w.error("cannot create environment", rc);
  if ((rc = mdb_env_set_mapsize(w.env_, options.initial_map_bytes)) != 0) {
    return w.error("cannot set the map size", rc);
  }
  // Commits are not flushed one by one; Close() syncs once at the end.
  if ((rc = mdb_env_open(w.env_, path.c_str(), MDB_NOSYNC, 0664)) != 0) {
    return w.error("cannot open for writing", rc);
  }
  MDB_envinfo info;
  mdb_env_info(w.env_, &info);
  w.map_bytes_ = info.me_mapsize;
  *out = std::move(w);
  return Status::success();
}

size_t LmdbWriter::max_key_bytes() const {
  CHECK(env_ != nullptr) << "LmdbWriter used after Close";
  return static_cast<size_t>(mdb_env_get_maxkeysize(env_));
}

Status LmdbWriter::put(std::string_view key, std::string_view value) {
  if (env_ == nullptr) return Status::internal("LMDB '" + path_ + "': put after Close");
  if (key.empty() || key.size() > max_key_bytes()) {
    return Status::invalid_argument("LMDB '" + path_ + "': key '" + std::string(key) +
                                    "' is empty or longer than " + std::to_string(max_key_bytes()) +
                                    " bytes");
  }
  pending_.emplace_back(std::string(key), std::string(value));
  if (static_cast<int>(pending_.size()) >= options_.batch_size) return commit();
  return Status::success();
}

// One attempt to commit the pending puts in one transaction; returns LMDB's code.
int LmdbWriter::try_commit() {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return rc;
  MDB_dbi dbi;
  rc = mdb_dbi_open(txn, nullptr, 0, &dbi);
  for (size_t i = 0; rc == 0 && i < pending_.size(); ++i) {
    MDB_val k = to_val(pending_[i].first), v = to_val(pending_[i].second);
    rc = mdb_put(txn, dbi, &k, &v, 0);
  }
  if (rc != 0) {
    mdb_txn_abort(txn);
    return rc;
  }
  return mdb_txn_commit(txn);
}

Status LmdbWriter::commit() {
  if (env_ == nullptr) return Status::internal("LMDB '" + path_ + "': commit after Close");
  if (pending_.empty()) return Status::success();
  for (;;) {
    int rc = try_commit();
    if (rc == 0) break;
    if (rc != MDB_MAP_FULL) {
      return error("cannot commit " + std::to_string(pending_.size()) + " records", rc);
    }
    size_t grown = map_bytes_ * 2;
    if ((rc = mdb_env_set_mapsize(env_, grown)) != 0) return error("cannot grow the map", rc);
    VLOG(1) << "LMDB '" << path_ << "': map grown to " << grown << " bytes";
    map_bytes_ = grown;
  }
  pending_.clear();
  return Status::success();
}

Status LmdbWriter::close() {
  if (env_ == nullptr) return Status::success();
  BANYAN_RETURN_IF_ERROR(commit());
  int rc = mdb_env_sync(env_, 1);
  if (rc != 0) return error("cannot flush to disk", rc);
  release();
  return Status::success();
}

}  // namespace banyan
