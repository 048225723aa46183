// Layout conversions and Datum decoding.
#include "data/image.h"

#include <cstring>
#include <string>

#include "engine/core/shape.h"

namespace banyan {

void hwc_to_chw(const HwcImage& in, ChwImage* out) {
  const int c_n = in.channels, h_n = in.height, w_n = in.width;
  out->channels = c_n;
  out->height = h_n;
  out->width = w_n;
  out->is_float = false;
  out->u8.resize(in.pixels.size());
  const size_t plane = static_cast<size_t>(h_n) * w_n;
  for (int c = 0; c < c_n; ++c) {
    uint8_t* dst = out->u8.data() + c * plane;
    const uint8_t* src = in.pixels.data() + c;
    for (size_t i = 0; i < plane; ++i) dst[i] = src[i * c_n];
  }
}

Status DatumDecoder::decode(const DatumRecord& record, JpegColor color, ChwImage* out) {
  if (!record.encoded) return decode_raw(record, color, out);
  const std::string& d = record.data;
  const bool is_jpeg = d.size() >= 3 && static_cast<uint8_t>(d[0]) == 0xFF &&
                       static_cast<uint8_t>(d[1]) == 0xD8 && static_cast<uint8_t>(d[2]) == 0xFF;
  if (!is_jpeg) {
    return Status::unimplemented(
        "encoded record is not a JPEG (only JPEG-encoded records can be "
        "decoded; store other formats raw)");
  }
  BANYAN_RETURN_IF_ERROR(jpeg_.decode(d, color, &hwc_));
  hwc_to_chw(hwc_, out);
  return Status::success();
}

Status DatumDecoder::decode_raw(const DatumRecord& record, JpegColor color, ChwImage* out) {
  const int64_t c = record.channels, h = record.height, w = record.width;
  if (c <= 0 || h <= 0 || w <= 0) {
    return Status::data_loss("raw record has shape " + std::to_string(c) + " x " +
                             std::to_string(h) + " x " + std::to_string(w) +
                             ", expected positive channels, height and width");
  }
  if ((color == JpegColor::kGray && c != 1) || (color == JpegColor::kBgr && c != 3)) {
    return Status::invalid_argument(
        std::string(color == JpegColor::kGray ? "force_gray" : "force_color") +
        " applies to JPEG-encoded records only; this raw record has " + std::to_string(c) +
        " channel(s)");
  }
  int64_t chw = 0;
  if (!checked_count({c, h, w}, &chw)) {
    return Status::data_loss("raw record has shape " + std::to_string(c) + " x " +
                             std::to_string(h) + " x " + std::to_string(w) + ": too many elements");
  }
  const size_t count = static_cast<size_t>(chw);
  out->channels = static_cast<int>(c);
  out->height = static_cast<int>(h);
  out->width = static_cast<int>(w);
  if (!record.data.empty()) {
    if (record.data.size() != count) {
      return Status::data_loss("raw record holds " + std::to_string(record.data.size()) +
                               " bytes, expected C x H x W = " + std::to_string(count));
    }
    out->is_float = false;
    out->u8.resize(count);
    std::memcpy(out->u8.data(), record.data.data(), count);
    return Status::success();
  }
  if (record.float_data.size() != count) {
    return Status::data_loss("raw record holds " + std::to_string(record.float_data.size()) +
                             " floats and no bytes, expected C x H x W = " + std::to_string(count));
  }
  out->is_float = true;
  out->f32.assign(record.float_data.begin(), record.float_data.end());
  return Status::success();
}

}  // namespace banyan
