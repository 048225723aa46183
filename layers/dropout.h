// Dropout layer, inverted: in TRAIN each unit is kept with probability 1 - p
// and scaled by 1 / (1 - p); in TEST it is the identity.  The mask is
// counter-based (DESIGN §4) so every worker layout drops the same units.
#pragma once

#include <cstdint>
#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.dropout.dropout_ratio = p in [0, 1).  One bottom of rank >= 1
// (axis 0 is the sample axis), one top of the same shape; may run in place.
//
// Mask (shared with the GPU implementation): with S = count(1) elements per
// sample, element j of sample n of this forward pass is kept iff
//   UniformAt(KeyFor(ctx.seed(), name()), ctx.step().sample_base + n, j) >= p
// i.e. the counter's high word is the global sample index and the low word the
// element within the sample.  Kept units become x / (1 - p), dropped ones 0.
// Forward stores the mask (sized at setup, host memory) and the phase it ran
// in; backward applies the same mask (TRAIN) or passes the gradient (TEST).
class DropoutLayer : public Layer {
 public:
  explicit DropoutLayer(LayerConfig config) : Layer(std::move(config)) {}

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

 private:
  Buffer mask_;  // (count) uint8: 1 = kept, from the last TRAIN forward
  bool last_forward_train_ = false;
};

}  // namespace banyan
