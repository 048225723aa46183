// PReLU layer (Caffe's, after He et al. 2015): a leaky ReLU whose negative
// slope is learned, one per channel (axis 1) or one shared by all.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.prelu.{filler (default constant 0.25), channel_shared}.
// One bottom x (at least 2 axes; channels C = dim 1), one top y of its
// shape.  Parameter: the slopes a, shape (C), or () when channel_shared.
//   y = x for x > 0, a[c] x otherwise.
// Backward: dx = dy (x > 0 ? 1 : a[c]); da[c] += sum over the channel of
// dy min(x, 0) (deterministic per-slice sums, layers/slice_ops.h).  May run
// in place: forward then keeps a copy of x for backward.  Scratch: count
// floats of workspace (the products dy min(x, 0)).
class PReluLayer : public Layer {
 public:
  explicit PReluLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif
  bool allows_in_place() const override { return true; }
  size_t workspace_floats() const override { return static_cast<size_t>(count_); }

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
  // x as backward must see it: the copy when running in place.
  const float* input(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) const;
  // The (outer, D, inner) view of the slope sums: (N, C, rest), or (1, 1,
  // count) when the slope is shared.
  int64_t sum_outer() const { return shared() ? 1 : num_; }
  int64_t sum_dim() const { return shared() ? 1 : channels_; }
  int64_t sum_inner() const { return shared() ? count_ : inner_; }
  bool shared() const { return config_.prelu.channel_shared; }

  int64_t count_ = 0, num_ = 0, channels_ = 0, inner_ = 0;
  Buffer input_copy_;   // x of the last forward when in place (count floats)
  Buffer gpu_scratch_;  // CUDA: block partials of the slope sums
};

}  // namespace banyan
