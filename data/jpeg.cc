// TurboJPEG wrappers (the TurboJPEG 2.x API: tjDecompress2 / tjCompress2).
#include "data/jpeg.h"

#include <glog/logging.h>
#include <turbojpeg.h>

#include <utility>

namespace banyan {
namespace {

std::string reason(void* handle) { return tjGetErrorStr2(static_cast<tjhandle>(handle)); }

// TurboJPEG can leave a handle mid-header after a failed call, which would
// confuse the next one; a fresh handle is cheap, so failures replace it.
Status fail(void** handle, const std::string& what) {
  std::string message = what + reason(*handle);
  tjDestroy(static_cast<tjhandle>(*handle));
  *handle = tjInitDecompress();
  CHECK(*handle != nullptr) << "TurboJPEG: cannot create a decompressor: " << reason(nullptr);
  return Status::data_loss(message);
}

}  // namespace

JpegDecoder::JpegDecoder() : handle_(tjInitDecompress()) {
  CHECK(handle_ != nullptr) << "TurboJPEG: cannot create a decompressor: " << reason(nullptr);
}

JpegDecoder::~JpegDecoder() {
  if (handle_ != nullptr) tjDestroy(static_cast<tjhandle>(handle_));
}

JpegDecoder::JpegDecoder(JpegDecoder&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)) {}

JpegDecoder& JpegDecoder::operator=(JpegDecoder&& other) noexcept {
  std::swap(handle_, other.handle_);
  return *this;
}

Status JpegDecoder::read_header(std::string_view jpeg, int* height, int* width, int* channels) {
  CHECK(handle_ != nullptr) << "JpegDecoder used after move";
  int subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(static_cast<tjhandle>(handle_),
                          reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size(), width,
                          height, &subsamp, &colorspace) != 0) {
    return fail(&handle_, "not a decodable JPEG (" + std::to_string(jpeg.size()) + " bytes): ");
  }
  if (*width <= 0 || *height <= 0) {
    return Status::data_loss("not a decodable JPEG (" + std::to_string(jpeg.size()) +
                             " bytes): no image size in the header");
  }
  if (int64_t{*width} * *height > kMaxImagePixels) {
    return Status::data_loss("JPEG of " + std::to_string(*width) + "x" + std::to_string(*height) +
                             " is larger than the " + std::to_string(kMaxImagePixels) +
                             "-pixel limit for decoding");
  }
  *channels = colorspace == TJCS_GRAY ? 1 : 3;
  return Status::success();
}

Status JpegDecoder::decode(std::string_view jpeg, JpegColor color, HwcImage* out) {
  int height = 0, width = 0, native = 0;
  BANYAN_RETURN_IF_ERROR(read_header(jpeg, &height, &width, &native));
  int channels = color == JpegColor::kNative ? native : (color == JpegColor::kGray ? 1 : 3);
  out->height = height;
  out->width = width;
  out->channels = channels;
  out->pixels.resize(static_cast<size_t>(height) * width * channels);
  int format = channels == 1 ? TJPF_GRAY : TJPF_BGR;
  if (tjDecompress2(static_cast<tjhandle>(handle_),
                    reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size(),
                    out->pixels.data(), width, 0, height, format, TJFLAG_STOPONWARNING) != 0) {
    return fail(&handle_, "corrupt JPEG (" + std::to_string(jpeg.size()) + " bytes, " +
                              std::to_string(width) + "x" + std::to_string(height) + "): ");
  }
  return Status::success();
}

JpegEncoder::JpegEncoder() : handle_(tjInitCompress()) {
  CHECK(handle_ != nullptr) << "TurboJPEG: cannot create a compressor: " << reason(nullptr);
}

JpegEncoder::~JpegEncoder() {
  if (buffer_ != nullptr) tjFree(buffer_);
  if (handle_ != nullptr) tjDestroy(static_cast<tjhandle>(handle_));
}

JpegEncoder::JpegEncoder(JpegEncoder&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      buffer_(std::exchange(other.buffer_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)) {}

JpegEncoder& JpegEncoder::operator=(JpegEncoder&& other) noexcept {
  std::swap(handle_, other.handle_);
  std::swap(buffer_, other.buffer_);
  std::swap(capacity_, other.capacity_);
  return *this;
}

Status JpegEncoder::encode(const HwcImage& image, int quality, std::string* out) {
  CHECK(handle_ != nullptr) << "JpegEncoder used after move";
  if (image.channels != 1 && image.channels != 3) {
    return Status::invalid_argument("JPEG encode: expected 1 or 3 channels, got " +
                                    std::to_string(image.channels));
  }
  if (image.height <= 0 || image.width <= 0 ||
      image.pixels.size() != static_cast<size_t>(image.height) * image.width * image.channels) {
    return Status::invalid_argument("JPEG encode: bad image size " + std::to_string(image.width) +
                                    "x" + std::to_string(image.height) + "x" +
                                    std::to_string(image.channels) + " for " +
                                    std::to_string(image.pixels.size()) + " bytes");
  }
  if (quality < 1 || quality > 100) {
    return Status::invalid_argument("JPEG encode: quality must be in [1, 100], got " +
                                    std::to_string(quality));
  }
  const bool gray = image.channels == 1;
  const int subsamp = gray ? TJSAMP_GRAY : TJSAMP_420;
  // Worst-case output size, so TurboJPEG never reallocates our buffer.
  unsigned long need = tjBufSize(image.width, image.height, subsamp);
  if (need > capacity_) {
    if (buffer_ != nullptr) tjFree(buffer_);
    buffer_ = tjAlloc(static_cast<int>(need));
    CHECK(buffer_ != nullptr) << "TurboJPEG: cannot allocate " << need << " bytes";
    capacity_ = need;
  }
  unsigned long size = capacity_;
  if (tjCompress2(static_cast<tjhandle>(handle_), image.pixels.data(), image.width, 0, image.height,
                  gray ? TJPF_GRAY : TJPF_BGR, &buffer_, &size, subsamp, quality,
                  TJFLAG_NOREALLOC) != 0) {
    return Status::internal("JPEG encode failed: " + reason(handle_));
  }
  out->assign(reinterpret_cast<const char*>(buffer_), size);
  return Status::success();
}

}  // namespace banyan
