// CPU HingeLoss: the margins kept for backward, their sum (or sum of
// squares) in double.
#include "layers/hinge_loss.h"

#include <algorithm>

#include "layers/registry.h"
#ifdef BANYAN_WITH_CUDA
#include "layers/loss_util.h"
#endif

namespace banyan {

Status HingeLossLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 2, 2, 1, 1));
  const Shape& s = bottom[0]->shape();
  if (s.num_axes() < 1 || s.dim(0) == 0 || s.count() == 0) {
    return error("scores '" + bottom[0]->name() + "' of shape " + s.to_string() +
                 " need a first (sample) axis and at least one class");
  }
  num_ = s.dim(0);
  classes_ = s.count() / num_;
  if (bottom[1]->count() != num_) {
    return error("labels '" + bottom[1]->name() + "' of shape " + bottom[1]->shape().to_string() +
                 " hold " + std::to_string(bottom[1]->count()) + " values; expected " +
                 std::to_string(num_) + ", one per sample of scores " + s.to_string());
  }
  top[0]->set_shape(Shape{});
  BANYAN_RETURN_IF_ERROR(
      Buffer::allocate(device(), static_cast<size_t>(s.count()) * sizeof(float), &margins_)
          .with_context("layer '" + name() + "' (HingeLoss) margins"));
#ifdef BANYAN_WITH_CUDA
  if (device().is_cuda()) {
    return Buffer::allocate(device(), gpu_loss_scratch_bytes(), &gpu_scratch_)
        .with_context("layer '" + name() + "' (HingeLoss) loss scratch");
  }
#endif
  return Status::success();
}

void HingeLossLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                 WorkerContext& ctx) {
  const float* x = bottom[0]->data();
  const float* labels = bottom[1]->data();
  float* m = static_cast<float*>(margins_.data());
  double loss = 0.0;
  for (int64_t n = 0; n < num_; ++n) {
    const float v = labels[n];
    if (!is_class_id(v, classes_)) return ctx.report_error(label_error(*this, v, n, classes_));
    const int64_t label = static_cast<int64_t>(v);
    for (int64_t k = 0; k < classes_; ++k) {
      const int64_t i = n * classes_ + k;
      m[i] = std::max(0.0f, 1.0f + (k == label ? -x[i] : x[i]));
      loss += squared() ? double{m[i]} * m[i] : double{m[i]};
    }
  }
  top[0]->data()[0] = static_cast<float>(loss / static_cast<double>(num_));
}

void HingeLossLayer::backward_cpu(const std::vector<Blob*>& top,
                                  const std::vector<bool>& propagate_down,
                                  const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const float* labels = bottom[1]->data();
  const float* m = static_cast<const float*>(margins_.data());
  float* dx = bottom[0]->diff();
  const float scale = top[0]->diff()[0] / static_cast<float>(num_);
  for (int64_t n = 0; n < num_; ++n) {
    const int64_t label = static_cast<int64_t>(labels[n]);  // checked in forward
    for (int64_t k = 0; k < classes_; ++k) {
      const int64_t i = n * classes_ + k;
      const float g = squared() ? 2.0f * m[i] : (m[i] > 0.0f ? 1.0f : 0.0f);
      dx[i] = (k == label ? -g : g) * scale;
    }
  }
}

std::unique_ptr<Layer> new_hinge_loss_layer(const LayerConfig& config) {
  return std::make_unique<HingeLossLayer>(config);
}

}  // namespace banyan
