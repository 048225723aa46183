// Fuzz target: PNG decode (libpng) to BGR or gray; the first byte picks the
// channel count (including invalid ones), the rest is the PNG.
#include <cstdint>
#include <string_view>

#include "data/png.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int channels[] = {3, 1, 3, 1, 2, 0};
  const std::string_view png(reinterpret_cast<const char*>(data + 1), size - 1);
  (void)banyan::is_png(png);
  banyan::HwcImage image;
  (void)banyan::decode_png(png, channels[data[0] % 6], &image);
  return 0;
}
