// CPU ReLU (leaky when negative_slope != 0); in-place safe, elementwise.
#include "layers/relu.h"

#include <cmath>

#include "layers/registry.h"

namespace banyan {

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
  const int64_t n = bottom[0]->count();
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
}

void ReluLayer::backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                             const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const float slope = config_.relu.negative_slope;
  // In place this is the output, whose sign matches the input's (slope >= 0).
  const float* x = bottom[0]->data();
  const float* dy = top[0]->diff();
  float* dx = bottom[0]->diff();
  const int64_t n = bottom[0]->count();
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : slope * dy[i];
}

std::unique_ptr<Layer> new_relu_layer(const LayerConfig& config) {
  return std::make_unique<ReluLayer>(config);
}

}  // namespace banyan
