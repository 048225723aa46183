// Decode, check and resize one record (OpenCV imgproc for the resize, per
// channel plane, bilinear).
#include "pipeline/sample_decoder.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

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
  BANYAN_RETURN_IF_ERROR(parse_datum(value, &record_));
  if (!record_.has_label) return Status::data_loss("Datum record has no label");
  Status s = decoder_.decode(record_, format_.color, &decoded_);
  if (!s.ok()) return Status::data_loss(s.message());
  return check_and_resize();
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
