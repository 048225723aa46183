// JPEG decode and encode with TurboJPEG.  Pixels are interleaved H x W x C
// uint8, BGR for colour (Caffe's and OpenCV's channel order) or one gray
// channel.  Each decoder/encoder owns its TurboJPEG handle: use one per
// thread; there is no shared state between instances.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace banyan {

// The largest image the decoders decode (JPEG, PNG): 2^27 pixels (e.g.
// 11585 x 11585), far beyond any training image; a header claiming more is
// refused as corrupt before anything is allocated for it.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 27;

// An interleaved H x W x C uint8 image (C = 1 gray, C = 3 BGR).
struct HwcImage {
  int height = 0;
  int width = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // height * width * channels
};

enum class JpegColor {
  kNative,  // gray JPEGs decode to 1 channel, all others to 3 (BGR)
  kBgr,     // always 3 channels
  kGray,    // always 1 channel
};

class JpegDecoder {
 public:
  JpegDecoder();  // CHECK-fails only if TurboJPEG cannot allocate a handle
  ~JpegDecoder();
  JpegDecoder(JpegDecoder&& other) noexcept;
  JpegDecoder& operator=(JpegDecoder&& other) noexcept;
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;

  // Reads the image size and its native channel count (1 for grayscale
  // JPEGs, else 3) without decoding.  DataLoss with TurboJPEG's reason when
  // the buffer is not a JPEG.
  Status read_header(std::string_view jpeg, int* height, int* width, int* channels);
  // Decodes `jpeg` into `out` (its pixel buffer is reused).  DataLoss with
  // TurboJPEG's reason for a truncated or corrupt buffer; warnings such as a
  // premature end of data count as corruption.
  Status decode(std::string_view jpeg, JpegColor color, HwcImage* out);

 private:
  void* handle_ = nullptr;  // tjhandle
};

class JpegEncoder {
 public:
  JpegEncoder();  // CHECK-fails only if TurboJPEG cannot allocate a handle
  ~JpegEncoder();
  JpegEncoder(JpegEncoder&& other) noexcept;
  JpegEncoder& operator=(JpegEncoder&& other) noexcept;
  JpegEncoder(const JpegEncoder&) = delete;
  JpegEncoder& operator=(const JpegEncoder&) = delete;

  // Encodes a 1-channel (gray) or 3-channel (BGR) image at `quality` (1-100;
  // colour uses 4:2:0 chroma subsampling, as OpenCV does by default).
  // InvalidArgument for other channel counts, sizes or qualities.
  Status encode(const HwcImage& image, int quality, std::string* out);

 private:
  void* handle_ = nullptr;           // tjhandle
  unsigned char* buffer_ = nullptr;  // reused output buffer (tjAlloc'd)
  unsigned long capacity_ = 0;       // its size in bytes
};

}  // namespace banyan
