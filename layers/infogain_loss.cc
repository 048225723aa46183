// CPU InfogainLoss: the shared stable softmax (layers/softmax.h), the
// H-weighted clamped log loss with ignore_label and Caffe's normalizations,
// and the exact gradient.  H from a file is read once at setup.
#include "layers/infogain_loss.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "data.pb.h"
#include "layers/loss_util.h"
#include "layers/registry.h"
#include "layers/softmax.h"

namespace banyan {

Status InfogainLossLayer::load_matrix() {
  const std::string& path = config_.infogain_loss.source;
  const std::string what = "infogain matrix '" + path + "'";
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found(error(what + " not found").message());
  std::stringstream bytes;
  bytes << in.rdbuf();
  pb::BlobProto blob;
  if (!blob.ParseFromString(bytes.str())) {
    return Status::data_loss(error(what + " is not a BlobProto (.binaryproto)").message());
  }
  std::vector<float> h(blob.data().begin(), blob.data().end());
  if (h.empty()) h.assign(blob.double_data().begin(), blob.double_data().end());
  const int64_t want = classes_ * classes_;
  if (static_cast<int64_t>(h.size()) != want) {
    return Status::data_loss(error(what + " holds " + std::to_string(h.size()) +
                                   " values; expected " + std::to_string(want) +
                                   " (K x K, K = " + std::to_string(classes_) + " classes)")
                                 .message());
  }
  BANYAN_RETURN_IF_ERROR(Buffer::allocate(device(), h.size() * sizeof(float), &h_file_));
  return copy_to_device(h.data(), want, device(), static_cast<float*>(h_file_.data()));
}

Status InfogainLossLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 2, 3, 1, 2));
  const Shape& s = bottom[0]->shape();
  const int axis = config_.infogain_loss.axis;
  if (!s.valid_axis(axis)) {
    return error("axis " + std::to_string(axis) + " is out of range for scores '" +
                 bottom[0]->name() + "' of shape " + s.to_string());
  }
  const int a = s.canonical_axis(axis);
  outer_ = s.count(0, a);
  classes_ = s.dim(a);
  inner_ = s.count(a + 1);
  if (classes_ == 0) return error("scores '" + bottom[0]->name() + "' have no classes");
  if (bottom[1]->count() != outer_ * inner_) {
    return error("labels '" + bottom[1]->name() + "' of shape " + bottom[1]->shape().to_string() +
                 " hold " + std::to_string(bottom[1]->count()) + " values; expected " +
                 std::to_string(outer_ * inner_) + ", one per position of scores " + s.to_string() +
                 " outside axis " + std::to_string(a));
  }
  if (bottom.size() == 3) {
    if (bottom[2]->count() != classes_ * classes_) {
      return error("infogain matrix '" + bottom[2]->name() + "' of shape " +
                   bottom[2]->shape().to_string() + " holds " + std::to_string(bottom[2]->count()) +
                   " values; expected " + std::to_string(classes_ * classes_) +
                   " (K x K, K = " + std::to_string(classes_) + ")");
    }
  } else if (config_.infogain_loss.source.empty()) {
    return error(
        "infogain_loss_param.source (the K x K matrix file) is required without a "
        "third bottom");
  } else {
    BANYAN_RETURN_IF_ERROR(load_matrix());
  }
  top[0]->set_shape(Shape{});
  if (top.size() > 1) top[1]->set_shape(s);
  rows_.assign(static_cast<size_t>(classes_), 0.0f);
  BANYAN_RETURN_IF_ERROR(
      Buffer::allocate(device(), static_cast<size_t>(s.count()) * sizeof(float), &prob_)
          .with_context("layer '" + name() + "' (InfogainLoss) probabilities"));
#ifdef BANYAN_WITH_CUDA
  if (device().is_cuda()) return setup_gpu();
#endif
  return Status::success();
}

const float* InfogainLossLayer::matrix(const std::vector<Blob*>& bottom) const {
  return bottom.size() == 3 ? bottom[2]->data() : static_cast<const float*>(h_file_.data());
}

bool InfogainLossLayer::is_ignored(float v) const {
  const auto& ignore = config_.loss.ignore_label;
  return ignore.has_value() && v == static_cast<float>(*ignore);
}

double InfogainLossLayer::fixed_normalizer() const {
  return loss_normalizer(config_.loss.normalization, outer_, inner_, -1);
}

void InfogainLossLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                    WorkerContext& ctx) {
  float* prob = static_cast<float*>(prob_.data());
  softmax_cpu(bottom[0]->data(), outer_, classes_, inner_, prob);
  const float* labels = bottom[1]->data();
  const float* h = matrix(bottom);
  double loss = 0.0;
  int64_t valid = 0;
  for (int64_t o = 0; o < outer_; ++o) {
    for (int64_t i = 0; i < inner_; ++i) {
      const float v = labels[o * inner_ + i];
      if (is_ignored(v)) continue;
      if (!is_class_id(v, classes_)) return ctx.report_error(label_error(*this, v, o, classes_));
      const float* hl = h + static_cast<int64_t>(v) * classes_;
      double term = 0.0;
      for (int64_t k = 0; k < classes_; ++k) {
        const float p = prob[(o * classes_ + k) * inner_ + i];
        term -= double{hl[k]} * std::log(std::max(p, kLogThreshold));
      }
      loss += static_cast<float>(term);
      ++valid;
    }
  }
  normalizer_ =
      static_cast<float>(loss_normalizer(config_.loss.normalization, outer_, inner_, valid));
  top[0]->data()[0] = static_cast<float>(loss / normalizer_);
  if (top.size() > 1) {
    std::memcpy(top[1]->data(), prob, static_cast<size_t>(top[1]->count()) * sizeof(float));
  }
}

void InfogainLossLayer::backward_cpu(const std::vector<Blob*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const float* prob = static_cast<const float*>(prob_.data());
  const float* labels = bottom[1]->data();
  const float* h = matrix(bottom);
  for (int64_t l = 0; l < classes_; ++l) {
    double sum = 0.0;
    for (int64_t k = 0; k < classes_; ++k) sum += h[l * classes_ + k];
    rows_[l] = static_cast<float>(sum);
  }
  float* dx = bottom[0]->diff();
  const float scale = top[0]->diff()[0] / normalizer_;
  for (int64_t o = 0; o < outer_; ++o) {
    for (int64_t i = 0; i < inner_; ++i) {
      const float v = labels[o * inner_ + i];
      const bool skip = is_ignored(v) || !is_class_id(v, classes_);  // reported in forward
      const int64_t l = skip ? 0 : static_cast<int64_t>(v);
      for (int64_t k = 0; k < classes_; ++k) {
        const int64_t j = (o * classes_ + k) * inner_ + i;
        dx[j] = skip ? 0.0f : scale * (prob[j] * rows_[l] - h[l * classes_ + k]);
      }
    }
  }
}

std::unique_ptr<Layer> new_infogain_loss_layer(const LayerConfig& config) {
  return std::make_unique<InfogainLossLayer>(config);
}

}  // namespace banyan
