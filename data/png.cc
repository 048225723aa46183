// libpng 1.6 simplified API (png_image): one call pair per image, errors
// reported in the png_image's message buffer, no setjmp in our code.
#include "data/png.h"

#include <png.h>

#include <cstring>

namespace banyan {

bool is_png(std::string_view bytes) {
  static constexpr unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return bytes.size() >= 8 && std::memcmp(bytes.data(), kSignature, 8) == 0;
}

Status decode_png(std::string_view bytes, int channels, HwcImage* out) {
  if (channels != 1 && channels != 3) {
    return Status::invalid_argument("PNG decode: channels must be 1 or 3, got " +
                                    std::to_string(channels));
  }
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    return Status::data_loss(std::string("not a valid PNG: ") + image.message);
  }
  if (int64_t{image.width} * image.height > kMaxImagePixels) {
    const std::string size = std::to_string(image.width) + "x" + std::to_string(image.height);
    png_image_free(&image);
    return Status::data_loss("PNG of " + size + " is larger than the " +
                             std::to_string(kMaxImagePixels) + "-pixel limit for decoding");
  }
  image.format = channels == 3 ? PNG_FORMAT_BGR : PNG_FORMAT_GRAY;
  out->height = static_cast<int>(image.height);
  out->width = static_cast<int>(image.width);
  out->channels = channels;
  out->pixels.resize(PNG_IMAGE_SIZE(image));
  const png_color black = {0, 0, 0};
  if (!png_image_finish_read(&image, &black, out->pixels.data(), 0, nullptr)) {
    png_image_free(&image);
    return Status::data_loss(std::string("corrupt PNG: ") + image.message);
  }
  return Status::success();
}

}  // namespace banyan
