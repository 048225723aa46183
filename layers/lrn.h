// LRN layer (Caffe's "LRN", ACROSS_CHANNELS): local response normalisation
// over a window of neighbouring channels at each pixel, as in AlexNet.
#pragma once

#include <cstdint>
#include <memory>

#include "layers/layer.h"

#ifdef BANYAN_WITH_CUDA
#include "cuda/cudnn_desc.h"
#endif

namespace banyan {

// Config: config.lrn.{local_size (n, odd), alpha, beta, k}.  One bottom x
// (N, C, H, W) (4-D only), one top y of the same shape.  For every (n, h, w):
//   scale_c = k + (alpha / n) * sum_{j = c - n/2 .. c + n/2, 0 <= j < C} x_j^2
//   y_c     = x_c * scale_c^(-beta)
// (Caffe's definition: alpha is divided by local_size and the window is
// clipped at the first and last channel).  local_size must be odd; k > 0 and
// alpha >= 0 are required so the scale stays positive.  Backward:
//   dx_c = dy_c * scale_c^(-beta)
//          - (2 * alpha * beta / n) * x_c * sum_{j in window(c)} dy_j * y_j / scale_j
// Forward keeps scale in a buffer the layer owns (allocated at setup);
// backward reads it together with the top data, so backward must follow the
// forward pass of the same input.  No parameters, no workspace.
//
// GPU (CUDA builds): cuDNN's cross-channel LRN, which computes the same
// formula (alpha divided by n, the same symmetric window), where cuDNN takes
// the parameters (local_size <= 16, k >= 1e-5, beta >= 0.01) and the tensor
// has fewer than 2^31 elements; it keeps no scale buffer.  Otherwise the
// layer's own kernels (lrn.cu), step for step as the CPU code.
class LrnLayer : public Layer {
 public:
  explicit LrnLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
  // Sets the cuDNN descriptors when the cuDNN path is taken.
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
  int num_ = 0, channels_ = 0;
  int64_t plane_ = 0;            // H * W
  std::unique_ptr<Blob> scale_;  // (N, C, H, W), written by forward; null on the cuDNN path
  // On a CUDA device, whether cuDNN runs the layer (decided at setup).
  bool use_cudnn_ = false;
#ifdef BANYAN_WITH_CUDA
  cuda::LrnDesc lrn_desc_;
  cuda::TensorDesc tensor_desc_;  // x, y, dx and dy: (N, C, H, W)
#endif
};

}  // namespace banyan
