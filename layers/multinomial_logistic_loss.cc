// CPU MultinomialLogisticLoss: clamped log of each sample's labelled
// probability, summed in double.
#include "layers/multinomial_logistic_loss.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "layers/loss_util.h"
#include "layers/registry.h"

namespace banyan {

Status MultinomialLogisticLossLayer::setup(const std::vector<Blob*>& bottom,
                                           const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 2, 2, 1, 1));
  const Shape& s = bottom[0]->shape();
  if (s.num_axes() < 1 || s.dim(0) == 0 || s.count() == 0) {
    return error("probabilities '" + bottom[0]->name() + "' of shape " + s.to_string() +
                 " need a first (sample) axis and at least one class");
  }
  num_ = s.dim(0);
  classes_ = s.count() / num_;
  if (bottom[1]->count() != num_) {
    return error("labels '" + bottom[1]->name() + "' of shape " + bottom[1]->shape().to_string() +
                 " hold " + std::to_string(bottom[1]->count()) + " values; expected " +
                 std::to_string(num_) + ", one per sample of probabilities " + s.to_string());
  }
  top[0]->set_shape(Shape{});
#ifdef BANYAN_WITH_CUDA
  if (device().is_cuda()) {
    BANYAN_RETURN_IF_ERROR(
        Buffer::allocate(device(), static_cast<size_t>(num_) * sizeof(float), &gpu_terms_)
            .with_context("layer '" + name() + "' (MultinomialLogisticLoss) terms"));
    return Buffer::allocate(device(), gpu_loss_scratch_bytes(), &gpu_scratch_)
        .with_context("layer '" + name() + "' (MultinomialLogisticLoss) loss scratch");
  }
#endif
  return Status::success();
}

void MultinomialLogisticLossLayer::forward_cpu(const std::vector<Blob*>& bottom,
                                               const std::vector<Blob*>& top, WorkerContext& ctx) {
  const float* p = bottom[0]->data();
  const float* labels = bottom[1]->data();
  double loss = 0.0;
  for (int64_t n = 0; n < num_; ++n) {
    const float v = labels[n];
    if (!is_class_id(v, classes_)) return ctx.report_error(label_error(*this, v, n, classes_));
    const float pn = p[n * classes_ + static_cast<int64_t>(v)];
    loss -= std::log(std::max(pn, kLogThreshold));
  }
  top[0]->data()[0] = static_cast<float>(loss / static_cast<double>(num_));
}

void MultinomialLogisticLossLayer::backward_cpu(const std::vector<Blob*>& top,
                                                const std::vector<bool>& propagate_down,
                                                const std::vector<Blob*>& bottom,
                                                WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const float* p = bottom[0]->data();
  const float* labels = bottom[1]->data();
  float* dp = bottom[0]->diff();
  std::memset(dp, 0, static_cast<size_t>(bottom[0]->count()) * sizeof(float));
  const float scale = -top[0]->diff()[0] / static_cast<float>(num_);
  for (int64_t n = 0; n < num_; ++n) {
    const int64_t i = n * classes_ + static_cast<int64_t>(labels[n]);  // checked in forward
    dp[i] = scale / std::max(p[i], kLogThreshold);
  }
}

std::unique_ptr<Layer> new_multinomial_logistic_loss_layer(const LayerConfig& config) {
  return std::make_unique<MultinomialLogisticLossLayer>(config);
}

}  // namespace banyan
