// CPU SoftmaxWithLoss: stable softmax, clamped log-loss with ignore_label and
// the four normalization modes, fused gradient.
#include "layers/softmax_loss.h"

#include <glog/logging.h>

#include <cfloat>
#include <cmath>
#include <cstring>

#include "layers/loss_util.h"
#include "layers/registry.h"
#include "layers/softmax.h"

namespace banyan {

Status SoftmaxWithLossLayer::setup(const std::vector<Blob*>& bottom,
                                   const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 2, 2, 1, 2));
  const Shape& s = bottom[0]->shape();
  const int axis = config_.softmax.axis;
  if (!s.valid_axis(axis)) {
    return error("axis " + std::to_string(axis) + " is out of range for scores '" +
                 bottom[0]->name() + "' of shape " + s.to_string());
  }
  const int a = s.canonical_axis(axis);
  outer_ = s.count(0, a);
  channels_ = s.dim(a);
  inner_ = s.count(a + 1);
  if (channels_ == 0) {
    return error("scores '" + bottom[0]->name() + "' of shape " + s.to_string() +
                 " have no classes along axis " + std::to_string(axis));
  }
  if (bottom[1]->count() != outer_ * inner_) {
    return error("labels '" + bottom[1]->name() + "' of shape " + bottom[1]->shape().to_string() +
                 " hold " + std::to_string(bottom[1]->count()) + " values; expected " +
                 std::to_string(outer_ * inner_) + ", one per position of scores " + s.to_string() +
                 " outside axis " + std::to_string(a));
  }
  top[0]->set_shape(Shape{});
  if (top.size() > 1) top[1]->set_shape(s);
  BANYAN_RETURN_IF_ERROR(
      Buffer::allocate(device(), static_cast<size_t>(s.count()) * sizeof(float), &prob_)
          .with_context("layer '" + name() + "' (SoftmaxWithLoss) probabilities"));
#ifdef BANYAN_WITH_CUDA
  if (device().is_cuda()) return setup_gpu();
#endif
  return Status::success();
}

bool SoftmaxWithLossLayer::is_ignored(float v) const {
  const auto& ignore = config_.loss.ignore_label;
  return ignore.has_value() && v == static_cast<float>(*ignore);
}

float SoftmaxWithLossLayer::normalizer(int64_t valid) const {
  return static_cast<float>(loss_normalizer(config_.loss.normalization, outer_, inner_, valid));
}

void SoftmaxWithLossLayer::forward_cpu(const std::vector<Blob*>& bottom,
                                       const std::vector<Blob*>& top, WorkerContext& ctx) {
  float* prob = static_cast<float*>(prob_.data());
  softmax_cpu(bottom[0]->data(), outer_, channels_, inner_, prob);
  const float* labels = bottom[1]->data();
  double loss = 0.0;
  int64_t valid = 0;
  for (int64_t o = 0; o < outer_; ++o) {
    for (int64_t i = 0; i < inner_; ++i) {
      const float v = labels[o * inner_ + i];
      if (is_ignored(v)) continue;
      if (!is_class_id(v, channels_)) return ctx.report_error(label_error(*this, v, o, channels_));
      const int64_t c = static_cast<int64_t>(v);
      const float p = prob[(o * channels_ + c) * inner_ + i];
      loss -= std::log(std::fmax(p, FLT_MIN));
      ++valid;
    }
  }
  normalizer_ = normalizer(valid);
  top[0]->data()[0] = static_cast<float>(loss / normalizer_);
  if (top.size() > 1) {
    std::memcpy(top[1]->data(), prob, static_cast<size_t>(top[1]->count()) * sizeof(float));
  }
}

void SoftmaxWithLossLayer::backward_cpu(const std::vector<Blob*>& top,
                                        const std::vector<bool>& propagate_down,
                                        const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const float* prob = static_cast<const float*>(prob_.data());
  const float* labels = bottom[1]->data();
  float* dx = bottom[0]->diff();
  const float scale = top[0]->diff()[0] / normalizer_;
  for (int64_t o = 0; o < outer_; ++o) {
    for (int64_t i = 0; i < inner_; ++i) {
      const float v = labels[o * inner_ + i];
      const bool skip = is_ignored(v) || !is_class_id(v, channels_);  // reported in forward
      const int64_t label = skip ? -1 : static_cast<int64_t>(v);
      for (int64_t c = 0; c < channels_; ++c) {
        const int64_t k = (o * channels_ + c) * inner_ + i;
        dx[k] = skip ? 0.0f : scale * (prob[k] - (c == label ? 1.0f : 0.0f));
      }
    }
  }
}

std::unique_ptr<Layer> new_softmax_with_loss_layer(const LayerConfig& config) {
  return std::make_unique<SoftmaxWithLossLayer>(config);
}

}  // namespace banyan
