// CPU EuclideanLoss: the difference kept for backward, the sum of squares
// in double.
#include "layers/euclidean_loss.h"

#include "engine/core/math.h"
#include "layers/registry.h"
#ifdef BANYAN_WITH_CUDA
#include "cuda/reduce.h"
#endif

namespace banyan {

Status EuclideanLossLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 2, 2, 1, 1));
  if (bottom[0]->count() != bottom[1]->count()) {
    return error("bottoms '" + bottom[0]->name() + "' " + bottom[0]->shape().to_string() +
                 " and '" + bottom[1]->name() + "' " + bottom[1]->shape().to_string() +
                 " must have the same number of elements");
  }
  num_ = bottom[0]->shape().num_axes() > 0 ? std::max<int64_t>(bottom[0]->shape().dim(0), 1) : 1;
  top[0]->set_shape(Shape{});
  BANYAN_RETURN_IF_ERROR(
      Buffer::allocate(device(), static_cast<size_t>(bottom[0]->count()) * sizeof(float), &diff_)
          .with_context("layer '" + name() + "' (EuclideanLoss) difference"));
#ifdef BANYAN_WITH_CUDA
  if (device().is_cuda()) {
    return Buffer::allocate(device(), (cuda::kReducePartials + 1) * sizeof(double), &scratch_)
        .with_context("layer '" + name() + "' (EuclideanLoss) reduction scratch");
  }
#endif
  return Status::success();
}

void EuclideanLossLayer::forward_cpu(const std::vector<Blob*>& bottom,
                                     const std::vector<Blob*>& top, WorkerContext& /*ctx*/) {
  const int64_t n = bottom[0]->count();
  const float* a = bottom[0]->data();
  const float* b = bottom[1]->data();
  float* d = static_cast<float*>(diff_.data());
  for (int64_t i = 0; i < n; ++i) d[i] = a[i] - b[i];
  top[0]->data()[0] = static_cast<float>(cpu_sum_squares(n, d) / (2.0 * num_));
}

void EuclideanLossLayer::backward_cpu(const std::vector<Blob*>& top,
                                      const std::vector<bool>& propagate_down,
                                      const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  const int64_t n = bottom[0]->count();
  const float* d = static_cast<const float*>(diff_.data());
  for (int i = 0; i < 2; ++i) {
    if (!propagate_down[i]) continue;
    const float alpha = (i == 0 ? 1.0f : -1.0f) * top[0]->diff()[0] / static_cast<float>(num_);
    float* dx = bottom[i]->diff();
    for (int64_t k = 0; k < n; ++k) dx[k] = alpha * d[k];
  }
}

std::unique_ptr<Layer> new_euclidean_loss_layer(const LayerConfig& config) {
  return std::make_unique<EuclideanLossLayer>(config);
}

}  // namespace banyan
