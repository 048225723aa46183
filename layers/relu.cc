// CPU ReLU (leaky when negative_slope != 0); in-place safe, elementwise,
// threaded over contiguous ranges; the loops vectorise.
#include "layers/relu.h"

#include <cmath>

#include "engine/core/parallel.h"
#include "layers/registry.h"

namespace banyan {
namespace {

// y = x where x > 0, else slope * x; y may be x.
void relu_forward_range(const float* x, float* y, int64_t begin, int64_t end, float slope) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
}

// dx = dy where x > 0, else slope * dy; dx may be dy.
void relu_backward_range(const float* x, const float* dy, float* dx, int64_t begin, int64_t end,
                         float slope) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) dx[i] = x[i] > 0.0f ? dy[i] : slope * dy[i];
}

}  // namespace

Status ReluLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const float slope = config_.relu.negative_slope;
  if (!std::isfinite(slope)) {
    return error("negative_slope must be finite, got " + std::to_string(slope));
  }
  if (top[0] == bottom[0]) {
    if (slope < 0.0f) {
      return error("negative_slope " + std::to_string(slope) +
                   " cannot run in place (the sign of the output no longer tells the sign of "
                   "the input); use a negative_slope >= 0 or a separate top");
    }
  } else {
    top[0]->set_shape(bottom[0]->shape());
  }
  return Status::success();
}

void ReluLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                            WorkerContext& /*ctx*/) {
  const float slope = config_.relu.negative_slope;
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  parallel_for(bottom[0]->count(), 1, 16,
               [=](int64_t begin, int64_t end) { relu_forward_range(x, y, begin, end, slope); });
}

void ReluLayer::backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                             const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const float slope = config_.relu.negative_slope;
  // In place this is the output, whose sign matches the input's (slope >= 0).
  const float* x = bottom[0]->data();
  const float* dy = top[0]->diff();
  float* dx = bottom[0]->diff();
  parallel_for(bottom[0]->count(), 1, 16, [=](int64_t begin, int64_t end) {
    relu_backward_range(x, dy, dx, begin, end, slope);
  });
}

std::unique_ptr<Layer> new_relu_layer(const LayerConfig& config) {
  return std::make_unique<ReluLayer>(config);
}

}  // namespace banyan
