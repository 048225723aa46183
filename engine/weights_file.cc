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

namespace banyan {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the file formats are little-endian and written with plain copies");

constexpr char kWeightsMagic[8] = {'B', 'A', 'N', 'Y', 'A', 'N', 'W', '\0'};
constexpr char kStateMagic[8] = {'B', 'A', 'N', 'Y', 'A', 'N', 'S', '\0'};
constexpr uint32_t kDTypeFloat32 = 0;
constexpr uint32_t kMaxRank = 32;

std::string ErrnoText() { return std::strerror(errno); }

uint32_t Crc32(const void* data, uint64_t bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const Bytef* p = static_cast<const Bytef*>(data);
  while (bytes > 0) {
    const uInt chunk = static_cast<uInt>(std::min<uint64_t>(bytes, uint64_t{1} << 30));
    crc = crc32(crc, p, chunk);
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

  Status Open() {
    file_.reset(std::fopen(tmp_.c_str(), "wb"));
    if (file_ == nullptr) return Status::IoError("cannot create '" + tmp_ + "': " + ErrnoText());
    return Status::Ok();
  }

  void Write(const void* data, size_t bytes) {
    if (ok_ && bytes > 0 && std::fwrite(data, 1, bytes, file_.get()) != bytes) Fail();
  }
  void U32(uint32_t v) { Write(&v, sizeof(v)); }
  void U64(uint64_t v) { Write(&v, sizeof(v)); }
  void I64(int64_t v) { Write(&v, sizeof(v)); }
  void String(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    Write(s.data(), s.size());
  }

  Status Commit() {
    FILE* f = file_.release();
    if (ok_ && std::fflush(f) != 0) Fail();
    if (ok_ && ::fsync(::fileno(f)) != 0) Fail();
    if (std::fclose(f) != 0 && ok_) Fail();
    if (ok_ && std::rename(tmp_.c_str(), path_.c_str()) != 0) Fail();
    if (!ok_) {
      std::remove(tmp_.c_str());
      return Status::IoError("cannot write '" + path_ + "': " + error_);
    }
    SyncDirectory();
    return Status::Ok();
  }

 private:
  void Fail() {
    ok_ = false;
    error_ = ErrnoText();
  }

  // Makes the rename durable; failure here is logged, the file is complete.
  void SyncDirectory() {
    const size_t slash = path_.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0 || ::fsync(fd) != 0) {
      LOG(WARNING) << "cannot fsync directory '" << dir << "' after writing '" << path_
                   << "': " << ErrnoText();
    }
    if (fd >= 0) ::close(fd);
  }

  std::string path_, tmp_;
  FilePtr file_;
  bool ok_ = true;
  std::string error_;
};

void WriteRecord(AtomicWriter& w, const ArrayRef& a) {
  w.String(a.name);
  w.U32(kDTypeFloat32);
  w.U32(static_cast<uint32_t>(a.shape.num_axes()));
  for (int64_t d : a.shape.dims()) w.I64(d);
  const uint64_t bytes = static_cast<uint64_t>(a.shape.count()) * sizeof(float);
  w.U64(bytes);
  w.Write(a.data, bytes);
  w.U32(Crc32(a.data, bytes));
}

// Sequential reader over a whole file that knows how many bytes remain, so
// a corrupt length is reported as such instead of allocating it.
class FileReader {
 public:
  explicit FileReader(std::string path) : path_(std::move(path)) {}

  Status Open() {
    file_.reset(std::fopen(path_.c_str(), "rb"));
    if (file_ == nullptr) {
      if (errno == ENOENT) return Status::NotFound("file '" + path_ + "' not found");
      return Status::IoError("cannot open '" + path_ + "': " + ErrnoText());
    }
    struct stat st;
    if (::fstat(::fileno(file_.get()), &st) != 0) {
      return Status::IoError("cannot stat '" + path_ + "': " + ErrnoText());
    }
    remaining_ = static_cast<uint64_t>(st.st_size);
    return Status::Ok();
  }

  const std::string& path() const { return path_; }
  uint64_t remaining() const { return remaining_; }

  Status Read(void* out, uint64_t bytes, const std::string& what) {
    if (bytes > remaining_) return Corrupt("truncated while reading " + what);
    if (bytes > 0 && std::fread(out, 1, bytes, file_.get()) != bytes) {
      return Status::IoError("cannot read '" + path_ + "' (" + what + "): " + ErrnoText());
    }
    remaining_ -= bytes;
    return Status::Ok();
  }
  template <typename T>
  Status Value(T* out, const std::string& what) {
    return Read(out, sizeof(T), what);
  }
  Status String(std::string* out, const std::string& what) {
    uint32_t n = 0;
    BANYAN_RETURN_IF_ERROR(Value(&n, what + " length"));
    if (n > remaining_) return Corrupt("truncated while reading " + what);
    out->resize(n);
    return Read(out->data(), n, what);
  }
  Status Magic(const char (&magic)[8], const char* kind) {
    char got[8];
    BANYAN_RETURN_IF_ERROR(Read(got, sizeof(got), "the magic bytes"));
    if (std::memcmp(got, magic, sizeof(got)) != 0) {
      return Corrupt(std::string("not a Banyan ") + kind + " file (bad magic bytes)");
    }
    return Status::Ok();
  }

  Status Corrupt(const std::string& message) const {
    return Status::DataLoss("'" + path_ + "': " + message);
  }

 private:
  std::string path_;
  FilePtr file_;
  uint64_t remaining_ = 0;
};

Status ReadShape(FileReader& r, const std::string& what, Shape* shape) {
  uint32_t dtype = 0, rank = 0;
  BANYAN_RETURN_IF_ERROR(r.Value(&dtype, what + " dtype"));
  if (dtype != kDTypeFloat32) {
    return r.Corrupt(what + " has unknown dtype " + std::to_string(dtype) +
                     " (expected 0, float32)");
  }
  BANYAN_RETURN_IF_ERROR(r.Value(&rank, what + " rank"));
  if (rank > kMaxRank) return r.Corrupt(what + " has rank " + std::to_string(rank));
  std::vector<int64_t> dims(rank);
  for (uint32_t i = 0; i < rank; ++i) {
    BANYAN_RETURN_IF_ERROR(r.Value(&dims[i], what + " shape"));
    if (dims[i] < 0) return r.Corrupt(what + " has a negative dimension");
  }
  *shape = Shape(std::move(dims));
  return Status::Ok();
}

Status ReadRecord(FileReader& r, NamedArray* out) {
  BANYAN_RETURN_IF_ERROR(r.String(&out->name, "a parameter name"));
  const std::string what = "parameter '" + out->name + "'";
  BANYAN_RETURN_IF_ERROR(ReadShape(r, what, &out->shape));
  uint64_t bytes = 0;
  BANYAN_RETURN_IF_ERROR(r.Value(&bytes, what + " byte count"));
  const uint64_t count = static_cast<uint64_t>(out->shape.count());
  if (bytes != count * sizeof(float)) {
    return r.Corrupt(what + " holds " + std::to_string(bytes) + " bytes but its shape " +
                     out->shape.ToString() + " needs " + std::to_string(count * sizeof(float)));
  }
  if (bytes > r.remaining()) return r.Corrupt("truncated while reading " + what + " data");
  out->data.resize(count);
  BANYAN_RETURN_IF_ERROR(r.Read(out->data.data(), bytes, what + " data"));
  uint32_t stored = 0;
  BANYAN_RETURN_IF_ERROR(r.Value(&stored, what + " checksum"));
  if (stored != Crc32(out->data.data(), bytes)) {
    return r.Corrupt("checksum mismatch in " + what + " (the data is corrupt)");
  }
  return Status::Ok();
}

Status ReadRecords(FileReader& r, std::vector<NamedArray>* out) {
  uint32_t count = 0;
  BANYAN_RETURN_IF_ERROR(r.Value(&count, "the array count"));
  out->clear();
  for (uint32_t i = 0; i < count; ++i) {
    NamedArray a;
    BANYAN_RETURN_IF_ERROR(ReadRecord(r, &a));
    out->push_back(std::move(a));
  }
  return Status::Ok();
}

Status ReadVersion(FileReader& r, uint32_t expected) {
  uint32_t version = 0;
  BANYAN_RETURN_IF_ERROR(r.Value(&version, "the version"));
  if (version != expected) {
    return r.Corrupt("unsupported version " + std::to_string(version) + " (this build reads " +
                     std::to_string(expected) + ")");
  }
  return Status::Ok();
}

Status CheckEnd(const FileReader& r) {
  if (r.remaining() != 0) {
    return r.Corrupt(std::to_string(r.remaining()) + " unexpected bytes after the last array");
  }
  return Status::Ok();
}

uint32_t TypeCode(SolverConfig::Type t) {
  switch (t) {
    case SolverConfig::Type::kSgd:
      return 0;
    case SolverConfig::Type::kNesterov:
      return 1;
    case SolverConfig::Type::kAdaGrad:
      return 2;
    case SolverConfig::Type::kAdam:
      return 3;
  }
  LOG(FATAL) << "unknown solver type";
}

}  // namespace

Status WriteWeightArrays(const std::string& path, const std::vector<ArrayRef>& arrays) {
  AtomicWriter w(path);
  BANYAN_RETURN_IF_ERROR(w.Open());
  w.Write(kWeightsMagic, sizeof(kWeightsMagic));
  w.U32(kWeightsFileVersion);
  w.U32(static_cast<uint32_t>(arrays.size()));
  for (const ArrayRef& a : arrays) WriteRecord(w, a);
  return w.Commit();
}

Status WriteWeights(const std::string& path, const Net& net) {
  std::vector<ArrayRef> arrays;
  for (const NetParam& p : net.params()) {
    CHECK(p.blob->device().is_cpu()) << "weights of '" << p.name << "' are not in host memory";
    arrays.push_back({p.name, p.blob->shape(), p.blob->data()});
  }
  return WriteWeightArrays(path, arrays);
}

Status ReadWeights(const std::string& path, std::vector<NamedArray>* out) {
  FileReader r(path);
  BANYAN_RETURN_IF_ERROR(r.Open());
  BANYAN_RETURN_IF_ERROR(r.Magic(kWeightsMagic, "weights"));
  BANYAN_RETURN_IF_ERROR(ReadVersion(r, kWeightsFileVersion));
  BANYAN_RETURN_IF_ERROR(ReadRecords(r, out));
  return CheckEnd(r);
}

Status LoadWeightsInto(const std::string& path, Net* net, WeightsLoadReport* report) {
  std::vector<NamedArray> arrays;
  BANYAN_RETURN_IF_ERROR(ReadWeights(path, &arrays));
  WeightsLoadReport local;
  WeightsLoadReport& rep = report != nullptr ? *report : local;
  rep = WeightsLoadReport();
  std::vector<std::pair<const NamedArray*, const NetParam*>> matches;
  for (const NamedArray& a : arrays) {
    const NetParam* p = net->FindParam(a.name);
    if (p == nullptr) {
      rep.ignored.push_back(a.name);
      continue;
    }
    if (p->blob->shape() != a.shape) {
      return Status::InvalidArgument(
          "parameter '" + a.name + "' has shape " + p->blob->shape().ToString() + " in net '" +
          net->name() + "' but " + a.shape.ToString() + " in weights file '" + path + "'");
    }
    matches.push_back({&a, p});
  }
  for (const auto& [a, p] : matches) {
    std::memcpy(p->blob->data(), a->data.data(), a->data.size() * sizeof(float));
    rep.loaded.push_back(a->name);
  }
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
  return Status::Ok();
}

Status WriteSolverState(const std::string& path, const SolverStateHeader& header,
                        const std::vector<std::vector<ArrayRef>>& history) {
  AtomicWriter w(path);
  BANYAN_RETURN_IF_ERROR(w.Open());
  w.Write(kStateMagic, sizeof(kStateMagic));
  w.U32(kSolverStateVersion);
  w.I64(header.iteration);
  w.U32(TypeCode(header.type));
  w.String(header.weights_file);
  w.U32(static_cast<uint32_t>(history.size()));
  for (const std::vector<ArrayRef>& slot : history) {
    w.U32(static_cast<uint32_t>(slot.size()));
    for (const ArrayRef& a : slot) WriteRecord(w, a);
  }
  return w.Commit();
}

Status ReadSolverState(const std::string& path, SolverStateHeader* header,
                       std::vector<std::vector<NamedArray>>* history) {
  FileReader r(path);
  BANYAN_RETURN_IF_ERROR(r.Open());
  BANYAN_RETURN_IF_ERROR(r.Magic(kStateMagic, "solver state"));
  BANYAN_RETURN_IF_ERROR(ReadVersion(r, kSolverStateVersion));
  BANYAN_RETURN_IF_ERROR(r.Value(&header->iteration, "the iteration"));
  if (header->iteration < 0) return r.Corrupt("negative iteration");
  uint32_t type = 0;
  BANYAN_RETURN_IF_ERROR(r.Value(&type, "the solver type"));
  constexpr SolverConfig::Type kTypes[] = {SolverConfig::Type::kSgd, SolverConfig::Type::kNesterov,
                                           SolverConfig::Type::kAdaGrad, SolverConfig::Type::kAdam};
  if (type >= 4) return r.Corrupt("unknown solver type " + std::to_string(type));
  header->type = kTypes[type];
  BANYAN_RETURN_IF_ERROR(r.String(&header->weights_file, "the weights file name"));
  uint32_t slots = 0;
  BANYAN_RETURN_IF_ERROR(r.Value(&slots, "the history slot count"));
  if (slots > 2) return r.Corrupt(std::to_string(slots) + " history slots (at most 2)");
  history->assign(slots, {});
  for (uint32_t s = 0; s < slots; ++s) BANYAN_RETURN_IF_ERROR(ReadRecords(r, &(*history)[s]));
  return CheckEnd(r);
}

std::string ResolvePairedWeights(const std::string& state_path, const std::string& weights_file) {
  if (!weights_file.empty() && weights_file[0] == '/') return weights_file;
  const size_t slash = state_path.find_last_of('/');
  if (slash == std::string::npos) return weights_file;
  return state_path.substr(0, slash + 1) + weights_file;
}

}  // namespace banyan
