// ReLU layer: y = x for x > 0, negative_slope * x otherwise (leaky when the
// slope is non-zero), elementwise over a blob of any shape.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.relu.negative_slope.  One bottom, one top of the same shape.
// May run in place (top[0] == bottom[0]): backward then decides the sign from
// the output, which has the input's sign whenever negative_slope >= 0, so a
// negative slope in place is rejected at setup.  The derivative at x == 0 is
// taken as negative_slope.
class ReluLayer : public Layer {
 public:
  explicit ReluLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif
  bool allows_in_place() const override { return true; }

 protected:
  void forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;
#ifdef BANYAN_WITH_CUDA
  void forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;
#endif
};

}  // namespace banyan
