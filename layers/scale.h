// Scale layer: multiplies its bottom by a learned per-slice factor gamma and
// optionally adds a learned bias beta (the affine part after BatchNorm), with
// Caffe's ScaleParameter axes so Caffe weights import unchanged.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.scale.{axis, num_axes, bias_term, filler, bias_filler}.
// One bottom x, one top y of the same shape.  gamma has the shape of x's
// dimensions [axis, axis + num_axes) (num_axes -1: through the last axis;
// 0: a scalar, shape ()).  Viewing x as (outer, D, inner), D = gamma's count:
//   y[o, d, i] = x[o, d, i] * gamma[d] (+ beta[d] when bias_term).
// Parameters: gamma (filler config.scale.filler), then beta (same shape,
// bias_filler) when bias_term; both learnable.  Backward: dx = dy * gamma;
// dgamma += sum dy * x; dbeta += sum dy (in double; on the GPU in a fixed
// order, without atomics, so bitwise reproducible).  The two-bottom form
// (gamma given as a second input) is not supported.
class ScaleLayer : public Layer {
 public:
  explicit ScaleLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif

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
  int64_t outer_ = 0, dim_ = 0, inner_ = 0;
#ifdef BANYAN_WITH_CUDA
  // Allocates gpu_scratch_ (called by setup on CUDA devices).
  Status setup_gpu();
#endif
  // CUDA devices: block partials of the parameter-gradient sums (slice_ops.h).
  Buffer gpu_scratch_;
};

}  // namespace banyan
