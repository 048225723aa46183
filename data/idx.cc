// IDX reading through zlib's gz* API (which passes plain files through).
#include "data/idx.h"

#include <zlib.h>

#include <algorithm>
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

  Status open() {
    errno = 0;
    file_ = gzopen(path_.c_str(), "rb");
    if (file_ != nullptr) return Status::success();
    if (errno == ENOENT) return Status::not_found("IDX file '" + path_ + "' not found");
    return Status::io_error("IDX file '" + path_ + "': cannot open: " + std::strerror(errno));
  }

  // Reads exactly `n` bytes of `what`; DataLoss when the file ends early.
  Status read(void* dst, size_t n, const std::string& what) {
    size_t done = 0;
    while (done < n) {
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, INT_MAX / 2));
      int got = gzread(file_, static_cast<char*>(dst) + done, chunk);
      if (got < 0) {
        int code = 0;
        const char* msg = gzerror(file_, &code);
        return Status::data_loss("IDX file '" + path_ + "': cannot read " + what + ": " + msg);
      }
      if (got == 0) {
        return Status::data_loss("IDX file '" + path_ + "' is truncated: " + what + " needs " +
                                 std::to_string(n) + " bytes, only " + std::to_string(done) +
                                 " present");
      }
      done += static_cast<size_t>(got);
    }
    return Status::success();
  }

  Status read_big_endian(uint32_t* value, const std::string& what) {
    unsigned char b[4];
    BANYAN_RETURN_IF_ERROR(read(b, 4, what));
    *value = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    return Status::success();
  }

  Status read_magic(uint32_t expected, const std::string& kind) {
    uint32_t magic = 0;
    BANYAN_RETURN_IF_ERROR(read_big_endian(&magic, "the magic number"));
    if (magic != expected) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "bad magic 0x%08x, expected 0x%08x for an IDX %s file", magic,
                    expected, kind.c_str());
      return Status::data_loss("IDX file '" + path_ + "': " + buf);
    }
    return Status::success();
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

// Dimensions above this are treated as corruption, not as a request for gigabytes.
constexpr uint32_t kMaxDim = 1u << 24;

}  // namespace

Status read_idx_images(const std::string& path, IdxImages* out) {
  GzReader in(path);
  BANYAN_RETURN_IF_ERROR(in.open());
  BANYAN_RETURN_IF_ERROR(in.read_magic(kIdxImagesMagic, "images"));
  uint32_t count = 0, rows = 0, cols = 0;
  BANYAN_RETURN_IF_ERROR(in.read_big_endian(&count, "the image count"));
  BANYAN_RETURN_IF_ERROR(in.read_big_endian(&rows, "the row count"));
  BANYAN_RETURN_IF_ERROR(in.read_big_endian(&cols, "the column count"));
  if (count > kMaxDim || rows == 0 || cols == 0 || rows > 65536 || cols > 65536 ||
      uint64_t{count} * rows * cols > (uint64_t{1} << 34)) {
    return Status::data_loss("IDX file '" + path + "': implausible dimensions " +
                             std::to_string(count) + " x " + std::to_string(rows) + " x " +
                             std::to_string(cols));
  }
  out->count = static_cast<int>(count);
  out->rows = static_cast<int>(rows);
  out->cols = static_cast<int>(cols);
  // Read in chunks, so a header that claims more than the file holds fails
  // at the file's end instead of allocating what it claims first.
  const size_t total = size_t{count} * rows * cols;
  constexpr size_t kChunk = size_t{64} << 20;
  out->pixels.clear();
  for (size_t done = 0; done < total;) {
    const size_t n = std::min(kChunk, total - done);
    out->pixels.resize(done + n);
    BANYAN_RETURN_IF_ERROR(in.read(out->pixels.data() + done, n,
                                   "pixel data of " + std::to_string(count) + " images"));
    done += n;
  }
  return Status::success();
}

Status read_idx_labels(const std::string& path, std::vector<uint8_t>* out) {
  GzReader in(path);
  BANYAN_RETURN_IF_ERROR(in.open());
  BANYAN_RETURN_IF_ERROR(in.read_magic(kIdxLabelsMagic, "labels"));
  uint32_t count = 0;
  BANYAN_RETURN_IF_ERROR(in.read_big_endian(&count, "the label count"));
  if (count > kMaxDim) {
    return Status::data_loss("IDX file '" + path + "': implausible label count " +
                             std::to_string(count));
  }
  out->resize(count);
  return in.read(out->data(), out->size(), std::to_string(count) + " labels");
}

}  // namespace banyan
