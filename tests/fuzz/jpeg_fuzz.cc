// Fuzz target: JPEG header read and decode (TurboJPEG) in each colour mode;
// the first byte picks the mode, the rest is the JPEG.
#include <cstdint>
#include <string_view>

#include "data/jpeg.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static banyan::JpegDecoder decoder;
  const banyan::JpegColor colors[] = {banyan::JpegColor::kNative, banyan::JpegColor::kBgr,
                                      banyan::JpegColor::kGray};
  const banyan::JpegColor color = colors[data[0] % 3];
  const std::string_view jpeg(reinterpret_cast<const char*>(data + 1), size - 1);
  int h = 0, w = 0, c = 0;
  (void)decoder.read_header(jpeg, &h, &w, &c);
  banyan::HwcImage image;
  (void)decoder.decode(jpeg, color, &image);
  return 0;
}
