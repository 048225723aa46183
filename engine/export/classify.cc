// Classifier: the preprocessing decision is written in the header; the
// transform itself is the pipeline's DataTransformer at TEST settings, so
// classify sees inputs exactly as a TEST pass over the same images would.
#include "engine/export/classify.h"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "data/image.h"
#include "data/jpeg.h"
#include "data/mean_file.h"
#include "data/png.h"
#include "engine/core/tensor.h"

namespace banyan {
namespace {

Status read_bytes(const std::string& path, std::string* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  *bytes = ss.str();
  return Status::success();
}

void resize(const HwcImage& in, int height, int width, HwcImage* out) {
  out->height = height;
  out->width = width;
  out->channels = in.channels;
  out->pixels.resize(static_cast<size_t>(height) * width * in.channels);
  if (in.height == height && in.width == width) {
    out->pixels = in.pixels;
    return;
  }
  const int type = CV_8UC(in.channels);
  const cv::Mat src(in.height, in.width, type, const_cast<uint8_t*>(in.pixels.data()));
  cv::Mat dst(height, width, type, out->pixels.data());
  cv::resize(src, dst, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);
}

}  // namespace

Status read_image_file(const std::string& path, int channels, HwcImage* out) {
  std::string bytes;
  BANYAN_RETURN_IF_ERROR(read_bytes(path, &bytes));
  Status s;
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0xFF &&
      static_cast<uint8_t>(bytes[1]) == 0xD8) {
    JpegDecoder decoder;
    s = decoder.decode(bytes, channels == 3 ? JpegColor::kBgr : JpegColor::kGray, out);
  } else if (is_png(bytes)) {
    s = decode_png(bytes, channels, out);
  } else {
    return Status::data_loss("'" + path + "' is neither a JPEG nor a PNG file");
  }
  return s.ok() ? s : s.with_context("image '" + path + "'");
}

Status read_labels(const std::string& path, std::vector<std::string>* labels) {
  std::ifstream in(path);
  if (!in) return Status::not_found("cannot open labels file '" + path + "'");
  labels->clear();
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels->push_back(line);
  }
  return Status::success();
}

Status Classifier::create(const NetConfig& config, Net* net, const std::string& mean_file,
                          std::unique_ptr<Classifier>* out) {
  const LayerConfig* input = nullptr;
  const NetState test = config.state_for(Phase::kTest);
  for (const LayerConfig& l : config.layers) {
    if (input == nullptr && l.type == "Input" && l.in_state(test)) input = &l;
  }
  if (input == nullptr)
    return Status::invalid_argument("net '" + config.name + "' has no Input layer");
  std::unique_ptr<Classifier> c(new Classifier());
  c->net_ = net;
  c->input_ = net->blob(input->top[0]);
  const Shape& shape = c->input_->shape();
  if (shape.num_axes() != 4 || (shape.dim(1) != 1 && shape.dim(1) != 3)) {
    return Status::invalid_argument("input '" + input->top[0] + "' of net '" + config.name +
                                    "' has shape " + shape.to_string() +
                                    "; classify needs (N, 1 or 3, H, W)");
  }
  c->channels_ = static_cast<int>(shape.dim(1));
  c->height_ = static_cast<int>(shape.dim(2));
  c->width_ = static_cast<int>(shape.dim(3));
  TransformConfig t = input->transform;
  if (!mean_file.empty()) {
    t.mean_file = mean_file;
    t.mean_value.clear();
  }
  c->resize_h_ = c->height_;
  c->resize_w_ = c->width_;
  MeanImage mean;
  if (!t.mean_file.empty()) BANYAN_RETURN_IF_ERROR(read_mean_file(t.mean_file, &mean));
  if (t.crop_size > 0 && mean.height > c->height_ && mean.width > c->width_) {
    c->resize_h_ = mean.height;
    c->resize_w_ = mean.width;
  } else {
    t.crop_size = 0;
  }
  t.mirror = false;
  BANYAN_RETURN_IF_ERROR(
      c->transformer_.init(t, c->channels_, c->resize_h_, c->resize_w_)
          .with_context("net '" + config.name + "', input '" + input->top[0] + "'"));
  if (c->transformer_.out_height() != c->height_ || c->transformer_.out_width() != c->width_) {
    return Status::invalid_argument("transform_param.crop_size " + std::to_string(t.crop_size) +
                                    " does not match input " + shape.to_string());
  }
  for (const NetOutput& o : net->outputs()) {
    if (o.name == "prob" || c->output_.empty()) c->output_ = o.name;
  }
  if (c->output_.empty())
    return Status::invalid_argument("net '" + config.name + "' has no output");
  *out = std::move(c);
  return Status::success();
}

Status Classifier::prepare(const std::string& path, float* dst) const {
  HwcImage decoded, resized;
  BANYAN_RETURN_IF_ERROR(read_image_file(path, channels_, &decoded));
  resize(decoded, resize_h_, resize_w_, &resized);
  ChwImage chw;
  hwc_to_chw(resized, &chw);
  transformer_.apply(chw, transformer_.draw(Phase::kTest, 0, 0, 0), dst);
  return Status::success();
}

Status Classifier::classify(const std::vector<std::string>& paths, int top_k,
                            std::vector<std::vector<Prediction>>* out) {
  const int64_t batch = input_->shape().dim(0);
  const int64_t per_image = input_->shape().count(1);
  std::vector<float> host(input_->shape().count()), scores;
  out->clear();
  for (size_t first = 0; first < paths.size(); first += batch) {
    const size_t n = std::min<size_t>(batch, paths.size() - first);
    std::fill(host.begin(), host.end(), 0.0f);
    for (size_t i = 0; i < n; ++i) {
      BANYAN_RETURN_IF_ERROR(prepare(paths[first + i], host.data() + i * per_image));
    }
    BANYAN_RETURN_IF_ERROR(copy_to_device(host.data(), static_cast<int64_t>(host.size()),
                                          input_->device(), input_->data()));
    net_->forward();
    const Blob* o = net_->blob(output_);
    BANYAN_RETURN_IF_ERROR(blob_to_host(*o, false, &scores));
    const int64_t classes = o->shape().count(1);
    for (size_t i = 0; i < n; ++i) {
      const float* s = scores.data() + i * classes;
      std::vector<int> order(classes);
      std::iota(order.begin(), order.end(), 0);
      const int k = static_cast<int>(std::min<int64_t>(top_k, classes));
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [s](int a, int b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
      std::vector<Prediction> top;
      for (int j = 0; j < k; ++j) top.push_back({order[j], s[order[j]]});
      out->push_back(std::move(top));
    }
  }
  return Status::success();
}

}  // namespace banyan
