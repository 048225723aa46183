// Decode, check and resize one record (OpenCV imgproc for the resize, per
// channel plane, bilinear).
#include "pipeline/sample_decoder.h"

#include <glog/logging.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "data/image_list.h"

namespace banyan {
namespace {

std::string shape_text(int c, int h, int w) {
  return std::to_string(c) + " x " + std::to_string(h) + " x " + std::to_string(w);
}

// Bilinear resize of every C x H x W plane of `in` into `out` (h x w).
void resize_planes(const ChwImage& in, int h, int w, ChwImage* out) {
  out->channels = in.channels;
  out->height = h;
  out->width = w;
  out->is_float = in.is_float;
  const size_t in_plane = static_cast<size_t>(in.height) * in.width;
  const size_t out_plane = static_cast<size_t>(h) * w;
  if (in.is_float) {
    out->f32.resize(out_plane * in.channels);
  } else {
    out->u8.resize(out_plane * in.channels);
  }
  for (int c = 0; c < in.channels; ++c) {
    if (in.is_float) {
      cv::Mat src(in.height, in.width, CV_32FC1, const_cast<float*>(in.f32.data() + c * in_plane));
      cv::Mat dst(h, w, CV_32FC1, out->f32.data() + c * out_plane);
      cv::resize(src, dst, dst.size(), 0, 0, cv::INTER_LINEAR);
    } else {
      cv::Mat src(in.height, in.width, CV_8UC1, const_cast<uint8_t*>(in.u8.data() + c * in_plane));
      cv::Mat dst(h, w, CV_8UC1, out->u8.data() + c * out_plane);
      cv::resize(src, dst, dst.size(), 0, 0, cv::INTER_LINEAR);
    }
  }
}

}  // namespace

Status SampleDecoder::decode(std::string_view value) {
  current_ = &decoded_;
  interleaved_ = false;
  BANYAN_RETURN_IF_ERROR(parse_datum(value, &record_));
  if (!record_.has_label) return Status::data_loss("Datum record has no label");
  if (record_.encoded && !format_.is_float) return decode_jpeg();
  Status s = decoder_.decode(record_, format_.color, &decoded_);
  if (!s.ok()) return Status::data_loss(s.message());
  return check_and_resize();
}

Status SampleDecoder::decode_jpeg() {
  const std::string& d = record_.data;
  const bool is_jpeg = d.size() >= 3 && static_cast<uint8_t>(d[0]) == 0xFF &&
                       static_cast<uint8_t>(d[1]) == 0xD8 && static_cast<uint8_t>(d[2]) == 0xFF;
  if (!is_jpeg) return Status::data_loss("encoded record is not a JPEG");
  Status s = jpeg_.decode(d, format_.color, &hwc_);
  if (!s.ok()) return Status::data_loss(s.message());
  return use_decoded_hwc();
}

Status SampleDecoder::decode_file(std::string_view bytes, int label) {
  current_ = &decoded_;
  interleaved_ = false;
  record_.label = label;
  BANYAN_RETURN_IF_ERROR(decode_image_file(bytes, format_.color, &jpeg_, &hwc_));
  return use_decoded_hwc();
}

Status SampleDecoder::use_decoded_hwc() {
  if (hwc_.channels == format_.channels && hwc_.height == format_.height &&
      hwc_.width == format_.width) {
    interleaved_ = true;  // cropped straight from hwc_
    return Status::success();
  }
  hwc_to_chw(hwc_, &decoded_);
  return check_and_resize();
}

const ChwImage& SampleDecoder::image() const {
  CHECK(!interleaved_) << "SampleDecoder::image of an interleaved sample";
  return *current_;
}

void SampleDecoder::write_cropped(const DataTransformer& t, const CropMirror& cm,
                                  uint8_t* out) const {
  if (!interleaved_) return t.crop_u8(*current_, cm, out);
  const int c_n = hwc_.channels, oh = t.out_height(), ow = t.out_width();
  CHECK(cm.h_off >= 0 && cm.h_off + oh <= hwc_.height && cm.w_off >= 0 &&
        cm.w_off + ow <= hwc_.width)
      << "crop offset (" << cm.h_off << ", " << cm.w_off << ") outside the image";
  const size_t plane = static_cast<size_t>(oh) * ow;
  for (int y = 0; y < oh; ++y) {
    const uint8_t* row =
        hwc_.pixels.data() + ((static_cast<size_t>(cm.h_off) + y) * hwc_.width + cm.w_off) * c_n;
    uint8_t* dst = out + static_cast<size_t>(y) * ow;
    if (c_n == 3) {  // BGR: one sequential pass over the row, three planes out
      uint8_t* __restrict b = dst;
      uint8_t* __restrict g = dst + plane;
      uint8_t* __restrict r = dst + 2 * plane;
      if (cm.mirror) {
        for (int x = 0, xs = ow - 1; x < ow; ++x, --xs) {
          b[x] = row[3 * xs];
          g[x] = row[3 * xs + 1];
          r[x] = row[3 * xs + 2];
        }
      } else {
        for (int x = 0; x < ow; ++x) {
          b[x] = row[3 * x];
          g[x] = row[3 * x + 1];
          r[x] = row[3 * x + 2];
        }
      }
      continue;
    }
    for (int c = 0; c < c_n; ++c) {
      for (int x = 0; x < ow; ++x) {
        dst[c * plane + x] = row[(cm.mirror ? ow - 1 - x : x) * c_n + c];
      }
    }
  }
}

Status SampleDecoder::check_and_resize() {
  const ChwImage& im = decoded_;
  if (im.channels != format_.channels) {
    return Status::data_loss("decoded to " + shape_text(im.channels, im.height, im.width) +
                             ", expected " + std::to_string(format_.channels) +
                             " channel(s) like the first record");
  }
  if (im.is_float != format_.is_float) {
    return Status::data_loss(std::string(im.is_float ? "float_data" : "uint8") +
                             " record in a dataset of " +
                             (format_.is_float ? "float_data" : "uint8") + " records");
  }
  if (im.height != format_.height || im.width != format_.width) {
    resize_planes(im, format_.height, format_.width, &scaled_);
    current_ = &scaled_;
    ++resized_;
  }
  return Status::success();
}

}  // namespace banyan
