// Reading and writing the weights and solver-state files (format in the
// header).  Writes go to "<path>.tmp", are flushed and fsynced, renamed over
// <path>, and the directory is fsynced, so the rename is durable too.
#include "engine/weights_file.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "engine/caffe_weights.h"

namespace banyan {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the file formats are little-endian and written with plain copies");

constexpr char kWeightsMagic[8] = {'B', 'A', 'N', 'Y', 'A', 'N', 'W', '\0'};
constexpr char kStateMagic[8] = {'B', 'A', 'N', 'Y', 'A', 'N', 'S', '\0'};
constexpr uint32_t kDTypeFloat32 = 0;
constexpr uint32_t kMaxRank = 32;

std::string errno_text() { return std::strerror(errno); }

uint32_t checksum(const void* data, uint64_t bytes) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  const Bytef* p = static_cast<const Bytef*>(data);
  while (bytes > 0) {
    const uInt chunk = static_cast<uInt>(std::min<uint64_t>(bytes, uint64_t{1} << 30));
    crc = ::crc32(crc, p, chunk);
    p += chunk;
    bytes -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

struct FileCloser {
  void operator()(FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

// Writes "<path>.tmp" and renames it over <path> on Commit; an uncommitted
// writer removes its temporary file.
class AtomicWriter {
 public:
  explicit AtomicWriter(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {}
  ~AtomicWriter() {
    if (file_ != nullptr) {
      file_.reset();
      std::remove(tmp_.c_str());
    }
  }

  Status open() {
    file_.reset(std::fopen(tmp_.c_str(), "wb"));
    if (file_ == nullptr) return Status::io_error("cannot create '" + tmp_ + "': " + errno_text());
    return Status::success();
  }

  void write(const void* data, size_t bytes) {
    if (ok_ && bytes > 0 && std::fwrite(data, 1, bytes, file_.get()) != bytes) fail();
  }
  void u32(uint32_t v) { write(&v, sizeof(v)); }
  void u64(uint64_t v) { write(&v, sizeof(v)); }
  void i64(int64_t v) { write(&v, sizeof(v)); }
  void string(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    write(s.data(), s.size());
  }

  Status commit() {
    FILE* f = file_.release();
    if (ok_ && std::fflush(f) != 0) fail();
    if (ok_ && ::fsync(::fileno(f)) != 0) fail();
    if (std::fclose(f) != 0 && ok_) fail();
    if (ok_ && std::rename(tmp_.c_str(), path_.c_str()) != 0) fail();
    if (!ok_) {
      std::remove(tmp_.c_str());
      return Status::io_error("cannot write '" + path_ + "': " + error_);
    }
    sync_directory();
    return Status::success();
  }

 private:
  void fail() {
    ok_ = false;
    error_ = errno_text();
  }

  // Makes the rename durable; failure here is logged, the file is complete.
  void sync_directory() {
    const size_t slash = path_.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0 || ::fsync(fd) != 0) {
      LOG(WARNING) << "cannot fsync directory '" << dir << "' after writing '" << path_
                   << "': " << errno_text();
    }
    if (fd >= 0) ::close(fd);
  }

  std::string path_, tmp_;
  FilePtr file_;
  bool ok_ = true;
  std::string error_;
};

void write_record(AtomicWriter& w, const ArrayRef& a) {
  w.string(a.name);
  w.u32(kDTypeFloat32);
  w.u32(static_cast<uint32_t>(a.shape.num_axes()));
  for (int64_t d : a.shape.dims()) w.i64(d);
  const uint64_t bytes = static_cast<uint64_t>(a.shape.count()) * sizeof(float);
  w.u64(bytes);
  w.write(a.data, bytes);
  w.u32(checksum(a.data, bytes));
}

// Sequential reader over a whole file that knows how many bytes remain, so
// a corrupt length is reported as such instead of allocating it.
class FileReader {
 public:
  explicit FileReader(std::string path) : path_(std::move(path)) {}

  Status open() {
    file_.reset(std::fopen(path_.c_str(), "rb"));
    if (file_ == nullptr) {
      if (errno == ENOENT) return Status::not_found("file '" + path_ + "' not found");
      return Status::io_error("cannot open '" + path_ + "': " + errno_text());
    }
    struct stat st;
    if (::fstat(::fileno(file_.get()), &st) != 0) {
      return Status::io_error("cannot stat '" + path_ + "': " + errno_text());
    }
    remaining_ = static_cast<uint64_t>(st.st_size);
    return Status::success();
  }

  const std::string& path() const { return path_; }
  uint64_t remaining() const { return remaining_; }

  Status read(void* out, uint64_t bytes, const std::string& what) {
    if (bytes > remaining_) return corrupt("truncated while reading " + what);
    if (bytes > 0 && std::fread(out, 1, bytes, file_.get()) != bytes) {
      return Status::io_error("cannot read '" + path_ + "' (" + what + "): " + errno_text());
    }
    remaining_ -= bytes;
    return Status::success();
  }
  template <typename T>
  Status value(T* out, const std::string& what) {
    return read(out, sizeof(T), what);
  }
  Status string(std::string* out, const std::string& what) {
    uint32_t n = 0;
    BANYAN_RETURN_IF_ERROR(value(&n, what + " length"));
    if (n > remaining_) return corrupt("truncated while reading " + what);
    out->resize(n);
    return read(out->data(), n, what);
  }
  Status magic(const char (&magic)[8], const char* kind) {
    char got[8];
    BANYAN_RETURN_IF_ERROR(read(got, sizeof(got), "the magic bytes"));
    if (std::memcmp(got, magic, sizeof(got)) != 0) {
      return corrupt(std::string("not a Banyan ") + kind + " file (bad magic bytes)");
    }
    return Status::success();
  }

  Status corrupt(const std::string& message) const {
    return Status::data_loss("'" + path_ + "': " + message);
  }

 private:
  std::string path_;
  FilePtr file_;
  uint64_t remaining_ = 0;
};

Status read_shape(FileReader& r, const std::string& what, Shape* shape) {
  uint32_t dtype = 0, rank = 0;
  BANYAN_RETURN_IF_ERROR(r.value(&dtype, what + " dtype"));
  if (dtype != kDTypeFloat32) {
    return r.corrupt(what + " has unknown dtype " + std::to_string(dtype) +
                     " (expected 0, float32)");
  }
  BANYAN_RETURN_IF_ERROR(r.value(&rank, what + " rank"));
  if (rank > kMaxRank) return r.corrupt(what + " has rank " + std::to_string(rank));
  std::vector<int64_t> dims(rank);
  for (uint32_t i = 0; i < rank; ++i) {
    BANYAN_RETURN_IF_ERROR(r.value(&dims[i], what + " shape"));
    if (dims[i] < 0) return r.corrupt(what + " has a negative dimension");
  }
  int64_t count = 0;
  if (!checked_count(dims, &count)) return r.corrupt(what + " has a shape too large to hold");
  if (count > static_cast<int64_t>(r.remaining() / sizeof(float))) {
    return r.corrupt("truncated: " + what + " has " + std::to_string(count) +
                     " elements, more than the " + std::to_string(r.remaining()) +
                     " bytes left in the file");
  }
  *shape = Shape(std::move(dims));
  return Status::success();
}

Status read_record(FileReader& r, NamedArray* out) {
  BANYAN_RETURN_IF_ERROR(r.string(&out->name, "a parameter name"));
  const std::string what = "parameter '" + out->name + "'";
  BANYAN_RETURN_IF_ERROR(read_shape(r, what, &out->shape));
  uint64_t bytes = 0;
  BANYAN_RETURN_IF_ERROR(r.value(&bytes, what + " byte count"));
  const uint64_t count = static_cast<uint64_t>(out->shape.count());
  if (bytes != count * sizeof(float)) {
    return r.corrupt(what + " holds " + std::to_string(bytes) + " bytes but its shape " +
                     out->shape.to_string() + " needs " + std::to_string(count * sizeof(float)));
  }
  if (bytes > r.remaining()) return r.corrupt("truncated while reading " + what + " data");
  out->data.resize(count);
  BANYAN_RETURN_IF_ERROR(r.read(out->data.data(), bytes, what + " data"));
  uint32_t stored = 0;
  BANYAN_RETURN_IF_ERROR(r.value(&stored, what + " checksum"));
  if (stored != checksum(out->data.data(), bytes)) {
    return r.corrupt("checksum mismatch in " + what + " (the data is corrupt)");
  }
  return Status::success();
}

Status read_records(FileReader& r, std::vector<NamedArray>* out) {
  uint32_t count = 0;
  BANYAN_RETURN_IF_ERROR(r.value(&count, "the array count"));
  out->clear();
  for (uint32_t i = 0; i < count; ++i) {
    NamedArray a;
    BANYAN_RETURN_IF_ERROR(read_record(r, &a));
    out->push_back(std::move(a));
  }
  return Status::success();
}

Status read_version(FileReader& r, uint32_t expected) {
  uint32_t version = 0;
  BANYAN_RETURN_IF_ERROR(r.value(&version, "the version"));
  if (version != expected) {
    return r.corrupt("unsupported version " + std::to_string(version) + " (this build reads " +
                     std::to_string(expected) + ")");
  }
  return Status::success();
}

Status check_end(const FileReader& r) {
  if (r.remaining() != 0) {
    return r.corrupt(std::to_string(r.remaining()) + " unexpected bytes after the last array");
  }
  return Status::success();
}

uint32_t type_code(SolverConfig::Type t) {
  switch (t) {
    case SolverConfig::Type::kSgd:
      return 0;
    case SolverConfig::Type::kNesterov:
      return 1;
    case SolverConfig::Type::kAdaGrad:
      return 2;
    case SolverConfig::Type::kAdam:
      return 3;
    case SolverConfig::Type::kRmsProp:
      return 4;
    case SolverConfig::Type::kAdaDelta:
      return 5;
  }
  LOG(FATAL) << "unknown solver type";
}

}  // namespace

Status write_weight_arrays(const std::string& path, const std::vector<ArrayRef>& arrays) {
  AtomicWriter w(path);
  BANYAN_RETURN_IF_ERROR(w.open());
  w.write(kWeightsMagic, sizeof(kWeightsMagic));
  w.u32(kWeightsFileVersion);
  w.u32(static_cast<uint32_t>(arrays.size()));
  for (const ArrayRef& a : arrays) write_record(w, a);
  return w.commit();
}

Status write_weights(const std::string& path, const Net& net) {
  std::vector<ArrayRef> arrays;
  std::vector<std::vector<float>> staged(net.params().size());  // device parameters
  for (size_t i = 0; i < net.params().size(); ++i) {
    const NetParam& p = net.params()[i];
    const float* values = p.master;  // float32 whatever the net's precision
    if (!p.blob->device().is_cpu()) {
      staged[i].resize(static_cast<size_t>(p.blob->count()));
      BANYAN_RETURN_IF_ERROR(
          copy_to_host(p.master, p.blob->count(), p.blob->device(), staged[i].data()));
      values = staged[i].data();
    }
    arrays.push_back({p.name, p.blob->shape(), values});
  }
  return write_weight_arrays(path, arrays);
}

Status read_weights(const std::string& path, std::vector<NamedArray>* out) {
  FileReader r(path);
  BANYAN_RETURN_IF_ERROR(r.open());
  BANYAN_RETURN_IF_ERROR(r.magic(kWeightsMagic, "weights"));
  BANYAN_RETURN_IF_ERROR(read_version(r, kWeightsFileVersion));
  BANYAN_RETURN_IF_ERROR(read_records(r, out));
  return check_end(r);
}

Status load_weights_into(const std::string& path, Net* net, WeightsLoadReport* report) {
  std::vector<NamedArray> arrays;
  bool from_caffe = false;
  BANYAN_RETURN_IF_ERROR(read_any_weights(path, &arrays, &from_caffe));
  WeightsLoadReport local;
  WeightsLoadReport& rep = report != nullptr ? *report : local;
  rep = WeightsLoadReport();
  std::vector<std::pair<const NamedArray*, const NetParam*>> matches;
  for (const NamedArray& a : arrays) {
    const NetParam* p = net->find_param(a.name);
    if (p == nullptr) {
      rep.ignored.push_back(a.name);
      continue;
    }
    if (!weight_shape_fits(p->blob->shape(), a.shape, from_caffe)) {
      return Status::invalid_argument(
          "parameter '" + a.name + "' has shape " + p->blob->shape().to_string() + " in net '" +
          net->name() + "' but " + a.shape.to_string() + " in weights file '" + path + "'");
    }
    matches.push_back({&a, p});
  }
  for (const auto& [a, p] : matches) {
    BANYAN_RETURN_IF_ERROR(copy_to_device(a->data.data(), static_cast<int64_t>(a->data.size()),
                                          p->blob->device(), p->master));
    rep.loaded.push_back(a->name);
  }
  net->refresh_compute_params();
  for (const NetParam& p : net->params()) {
    bool found = false;
    for (const std::string& n : rep.loaded) found = found || n == p.name;
    if (!found) rep.missing.push_back(p.name);
  }
  if (!rep.ignored.empty()) {
    std::string list;
    for (const std::string& n : rep.ignored) list += (list.empty() ? "" : ", ") + n;
    LOG(INFO) << "weights file '" << path << "': ignoring parameters the net lacks: " << list;
  }
  LOG(INFO) << "loaded " << rep.loaded.size() << " parameters from '" << path << "'";
  return Status::success();
}

Status write_solver_state(const std::string& path, const SolverStateHeader& header,
                          const std::vector<std::vector<ArrayRef>>& history) {
  AtomicWriter w(path);
  BANYAN_RETURN_IF_ERROR(w.open());
  w.write(kStateMagic, sizeof(kStateMagic));
  w.u32(kSolverStateVersion);
  w.i64(header.iteration);
  w.u32(type_code(header.type));
  w.string(header.weights_file);
  w.u32(static_cast<uint32_t>(history.size()));
  for (const std::vector<ArrayRef>& slot : history) {
    w.u32(static_cast<uint32_t>(slot.size()));
    for (const ArrayRef& a : slot) write_record(w, a);
  }
  return w.commit();
}

Status read_solver_state(const std::string& path, SolverStateHeader* header,
                         std::vector<std::vector<NamedArray>>* history) {
  FileReader r(path);
  BANYAN_RETURN_IF_ERROR(r.open());
  BANYAN_RETURN_IF_ERROR(r.magic(kStateMagic, "solver state"));
  BANYAN_RETURN_IF_ERROR(read_version(r, kSolverStateVersion));
  BANYAN_RETURN_IF_ERROR(r.value(&header->iteration, "the iteration"));
  if (header->iteration < 0) return r.corrupt("negative iteration");
  uint32_t type = 0;
  BANYAN_RETURN_IF_ERROR(r.value(&type, "the solver type"));
  constexpr SolverConfig::Type kTypes[] = {
      SolverConfig::Type::kSgd,  SolverConfig::Type::kNesterov, SolverConfig::Type::kAdaGrad,
      SolverConfig::Type::kAdam, SolverConfig::Type::kRmsProp,  SolverConfig::Type::kAdaDelta};
  if (type >= 6) return r.corrupt("unknown solver type " + std::to_string(type));
  header->type = kTypes[type];
  BANYAN_RETURN_IF_ERROR(r.string(&header->weights_file, "the weights file name"));
  uint32_t slots = 0;
  BANYAN_RETURN_IF_ERROR(r.value(&slots, "the history slot count"));
  if (slots > 2) return r.corrupt(std::to_string(slots) + " history slots (at most 2)");
  history->assign(slots, {});
  for (uint32_t s = 0; s < slots; ++s) BANYAN_RETURN_IF_ERROR(read_records(r, &(*history)[s]));
  return check_end(r);
}

std::string resolve_paired_weights(const std::string& state_path, const std::string& weights_file) {
  if (!weights_file.empty() && weights_file[0] == '/') return weights_file;
  const size_t slash = state_path.find_last_of('/');
  if (slash == std::string::npos) return weights_file;
  return state_path.substr(0, slash + 1) + weights_file;
}

}  // namespace banyan
