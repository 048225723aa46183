// Softmax layer over one axis, computed stably (the maximum is subtracted
// before exponentiating), and the shared CPU kernel SoftmaxWithLoss reuses.
#pragma once

#include <cstdint>
#include <memory>

#include "layers/layer.h"

#ifdef BANYAN_WITH_CUDA
#include <cuda_runtime_api.h>

#include "cuda/cudnn_desc.h"
#endif

namespace banyan {

// Softmax over the middle axis of x viewed as (outer, channels, inner):
// y[o, c, i] = exp(x[o, c, i] - m) / sum_c' exp(x[o, c', i] - m), m = max_c x.
// x and y must not overlap unless equal.
void softmax_cpu(const float* x, int64_t outer, int64_t channels, int64_t inner, float* y);

#ifdef BANYAN_WITH_CUDA
// The same on `stream` (device pointers), as SoftmaxWithLoss computes it
// (defined in softmax_loss.cu).
void softmax_gpu(const float* x, int64_t outer, int64_t channels, int64_t inner, float* y,
                 cudaStream_t stream);
#endif

// Config: config.softmax.axis (negative counts from the end).  One bottom, one
// top of the same shape.  Backward: dx = y * (dy - sum_c dy * y).
//
// GPU (CUDA builds): cuDNN's softmax (ACCURATE: the maximum is subtracted;
// CHANNEL mode) over x viewed as the 4-D tensor (outer, channels, inner, 1);
// on a CUDA device setup requires fewer than 2^31 elements (cuDNN's limit).
class SoftmaxLayer : public Layer {
 public:
  explicit SoftmaxLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
  // Sets the cuDNN tensor descriptor.
  Status prepare_device(WorkerContext& ctx) override;
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
  int64_t outer_ = 0, channels_ = 0, inner_ = 0;
#ifdef BANYAN_WITH_CUDA
  cuda::TensorDesc desc_;  // x, y, dx and dy: (outer, channels, inner, 1)
#endif
};

}  // namespace banyan
