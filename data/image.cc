// Layout conversions and Datum decoding.
#include "data/image.h"

#include <cstring>
#include <string>

namespace banyan {

void HwcToChw(const HwcImage& in, ChwImage* out) {
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

Status DatumDecoder::Decode(const DatumRecord& record, JpegColor color, ChwImage* out) {
  if (!record.encoded) return DecodeRaw(record, color, out);
  const std::string& d = record.data;
  const bool is_jpeg = d.size() >= 3 && static_cast<uint8_t>(d[0]) == 0xFF &&
                       static_cast<uint8_t>(d[1]) == 0xD8 && static_cast<uint8_t>(d[2]) == 0xFF;
  if (!is_jpeg) {
    return Status::Unimplemented(
        "encoded record is not a JPEG (only JPEG-encoded records can be "
        "decoded; store other formats raw)");
  }
  BANYAN_RETURN_IF_ERROR(jpeg_.Decode(d, color, &hwc_));
  HwcToChw(hwc_, out);
  return Status::Ok();
}

Status DatumDecoder::DecodeRaw(const DatumRecord& record, JpegColor color, ChwImage* out) {
  const int64_t c = record.channels, h = record.height, w = record.width;
  if (c <= 0 || h <= 0 || w <= 0) {
    return Status::DataLoss("raw record has shape " + std::to_string(c) + " x " +
                            std::to_string(h) + " x " + std::to_string(w) +
                            ", expected positive channels, height and width");
  }
  if ((color == JpegColor::kGray && c != 1) || (color == JpegColor::kBgr && c != 3)) {
    return Status::InvalidArgument(
        std::string(color == JpegColor::kGray ? "force_gray" : "force_color") +
        " applies to JPEG-encoded records only; this raw record has " + std::to_string(c) +
        " channel(s)");
  }
  const size_t count = static_cast<size_t>(c * h * w);
  out->channels = static_cast<int>(c);
  out->height = static_cast<int>(h);
  out->width = static_cast<int>(w);
  if (!record.data.empty()) {
    if (record.data.size() != count) {
      return Status::DataLoss("raw record holds " + std::to_string(record.data.size()) +
                              " bytes, expected C x H x W = " + std::to_string(count));
    }
    out->is_float = false;
    out->u8.resize(count);
    std::memcpy(out->u8.data(), record.data.data(), count);
    return Status::Ok();
  }
  if (record.float_data.size() != count) {
    return Status::DataLoss("raw record holds " + std::to_string(record.float_data.size()) +
                            " floats and no bytes, expected C x H x W = " + std::to_string(count));
  }
  out->is_float = true;
  out->f32.assign(record.float_data.begin(), record.float_data.end());
  return Status::Ok();
}

}  // namespace banyan
