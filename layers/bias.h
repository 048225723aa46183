// Bias layer (Caffe's): adds a bias broadcast over bottom 0 from an axis,
// either a learned parameter or a second bottom (which then gets a
// gradient).  The broadcast and sums are Scale's (layers/slice_ops.h).
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.bias.{axis, num_axes, filler}.  Bottoms: x, and optionally
// the bias b; one top y of x's shape.  With one bottom, b is a parameter of
// the shape of x's dimensions [axis, axis + num_axes) (num_axes -1: through
// the last axis; 0: a scalar), filled by config.bias.filler (constant 0 by
// default).  With two bottoms num_axes and filler are not used: b's shape
// must equal x's dimensions from `axis` on for b's number of axes (a scalar
// b, shape (), ignores axis).  Viewing x as (outer, D, inner), D = b's count:
//   y[o, d, i] = x[o, d, i] + b[d].
// Backward: dx = dy; db = sum over (o, i) of dy, which accumulates (+=) into
// the parameter's gradient but overwrites bottom 1's.  May run in place.
class BiasLayer : public Layer {
 public:
  explicit BiasLayer(LayerConfig config) : Layer(std::move(config)) {}

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
  // Checks bottom 1 against x and sets the view (two-bottom form).
  Status setup_bias_bottom(const Blob& x, const Blob& b);
  // The bias (bottom 1 or the parameter) and where its gradient goes.
  const float* bias(const std::vector<Blob*>& bottom) const;
  float* bias_diff(const std::vector<Blob*>& bottom) const;

  int64_t outer_ = 0, dim_ = 0, inner_ = 0;
  // CUDA devices: block partials of the bias-gradient sums (slice_ops.h).
  Buffer gpu_scratch_;
};

}  // namespace banyan
