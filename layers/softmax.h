// Softmax layer over one axis, computed stably (the maximum is subtracted
// before exponentiating), and the shared CPU kernel SoftmaxWithLoss reuses.
#pragma once

#include <cstdint>
#include <memory>

#include "layers/layer.h"

namespace banyan {

// Softmax over the middle axis of x viewed as (outer, channels, inner):
// y[o, c, i] = exp(x[o, c, i] - m) / sum_c' exp(x[o, c', i] - m), m = max_c x.
// x and y must not overlap unless equal.
void softmax_cpu(const float* x, int64_t outer, int64_t channels, int64_t inner, float* y);

// Config: config.softmax.axis (negative counts from the end).  One bottom, one
// top of the same shape.  Backward: dx = y * (dy - sum_c dy * y).
class SoftmaxLayer : public Layer {
 public:
  explicit SoftmaxLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;

 protected:
  void forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;

 private:
  int64_t outer_ = 0, channels_ = 0, inner_ = 0;
};

}  // namespace banyan
