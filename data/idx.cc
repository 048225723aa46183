// IDX reading through zlib's gz* API (which passes plain files through).
#include "data/idx.h"

#include <zlib.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace banyan {
namespace {

// A gzFile that closes itself.
class GzReader {
 public:
  explicit GzReader(std::string path) : path_(std::move(path)) {}
  ~GzReader() {
    if (file_ != nullptr) gzclose(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  Status Open() {
    errno = 0;
    file_ = gzopen(path_.c_str(), "rb");
    if (file_ != nullptr) return Status::Ok();
    if (errno == ENOENT) return Status::NotFound("IDX file '" + path_ + "' not found");
    return Status::IoError("IDX file '" + path_ + "': cannot open: " + std::strerror(errno));
  }

  // Reads exactly `n` bytes of `what`; DataLoss when the file ends early.
  Status Read(void* dst, size_t n, const std::string& what) {
    size_t done = 0;
    while (done < n) {
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, INT_MAX / 2));
      int got = gzread(file_, static_cast<char*>(dst) + done, chunk);
      if (got < 0) {
        int code = 0;
        const char* msg = gzerror(file_, &code);
        return Status::DataLoss("IDX file '" + path_ + "': cannot read " + what + ": " + msg);
      }
      if (got == 0) {
        return Status::DataLoss("IDX file '" + path_ + "' is truncated: " + what + " needs " +
                                std::to_string(n) + " bytes, only " + std::to_string(done) +
                                " present");
      }
      done += static_cast<size_t>(got);
    }
    return Status::Ok();
  }

  Status ReadBigEndian(uint32_t* value, const std::string& what) {
    unsigned char b[4];
    BANYAN_RETURN_IF_ERROR(Read(b, 4, what));
    *value = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    return Status::Ok();
  }

  Status ReadMagic(uint32_t expected, const std::string& kind) {
    uint32_t magic = 0;
    BANYAN_RETURN_IF_ERROR(ReadBigEndian(&magic, "the magic number"));
    if (magic != expected) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "bad magic 0x%08x, expected 0x%08x for an IDX %s file", magic,
                    expected, kind.c_str());
      return Status::DataLoss("IDX file '" + path_ + "': " + buf);
    }
    return Status::Ok();
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

// Dimensions above this are treated as corruption, not as a request for gigabytes.
constexpr uint32_t kMaxDim = 1u << 24;

}  // namespace

Status ReadIdxImages(const std::string& path, IdxImages* out) {
  GzReader in(path);
  BANYAN_RETURN_IF_ERROR(in.Open());
  BANYAN_RETURN_IF_ERROR(in.ReadMagic(kIdxImagesMagic, "images"));
  uint32_t count = 0, rows = 0, cols = 0;
  BANYAN_RETURN_IF_ERROR(in.ReadBigEndian(&count, "the image count"));
  BANYAN_RETURN_IF_ERROR(in.ReadBigEndian(&rows, "the row count"));
  BANYAN_RETURN_IF_ERROR(in.ReadBigEndian(&cols, "the column count"));
  if (count > kMaxDim || rows == 0 || cols == 0 || rows > 65536 || cols > 65536 ||
      uint64_t{count} * rows * cols > (uint64_t{1} << 34)) {
    return Status::DataLoss("IDX file '" + path + "': implausible dimensions " +
                            std::to_string(count) + " x " + std::to_string(rows) + " x " +
                            std::to_string(cols));
  }
  out->count = static_cast<int>(count);
  out->rows = static_cast<int>(rows);
  out->cols = static_cast<int>(cols);
  out->pixels.resize(size_t{count} * rows * cols);
  return in.Read(out->pixels.data(), out->pixels.size(),
                 "pixel data of " + std::to_string(count) + " images");
}

Status ReadIdxLabels(const std::string& path, std::vector<uint8_t>* out) {
  GzReader in(path);
  BANYAN_RETURN_IF_ERROR(in.Open());
  BANYAN_RETURN_IF_ERROR(in.ReadMagic(kIdxLabelsMagic, "labels"));
  uint32_t count = 0;
  BANYAN_RETURN_IF_ERROR(in.ReadBigEndian(&count, "the label count"));
  if (count > kMaxDim) {
    return Status::DataLoss("IDX file '" + path + "': implausible label count " +
                            std::to_string(count));
  }
  out->resize(count);
  return in.Read(out->data(), out->size(), std::to_string(count) + " labels");
}

}  // namespace banyan
