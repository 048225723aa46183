// LRN layer (Caffe's "LRN"): local response normalisation over a window of
// neighbouring channels at each pixel (ACROSS_CHANNELS, as in AlexNet) or over
// a square window in each channel (WITHIN_CHANNEL, as in Caffe's CIFAR-10 nets).
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
// WITHIN_CHANNEL (config.lrn.norm_region): for every (n, c, h, w), with
// n = local_size^2 and the window the local_size x local_size square centred
// on (h, w), clipped to the image:
//   scale = 1 + alpha * (sum_{window} x^2) / n
//   y     = x * scale^(-beta)
// This is what Caffe computes with an AVE pooling of x^2 (pad local_size/2,
// stride 1): its divisor, (min(hstart + size, H + pad) - hstart) times the
// same for w with hstart unclipped, is size^2 at every position of that
// geometry (hstart + size = h + pad + 1 <= H + pad), padding counted; and
// 1 replaces k, which Caffe ignores there.  alpha >= 0 keeps the scale
// positive.  Backward:
//   dx = dy * scale^(-beta)
//        - (2 * alpha * beta / n) * x * sum_{o in window} dy_o * y_o / scale_o
// Both devices run the layer's own kernels (cuDNN has no within-channel LRN).
//
// GPU (CUDA builds), across channels: cuDNN's cross-channel LRN, which computes the same
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
  // WITHIN_CHANNEL on the CPU: x, y, dy, dx are (N, C, H, W).
  void forward_within_cpu(const float* x, float* y);
  void backward_within_cpu(const float* x, const float* y, const float* dy, float* dx);

  int num_ = 0, channels_ = 0;
  int64_t plane_ = 0;            // H * W
  std::unique_ptr<Blob> scale_;  // (N, C, H, W), written by forward; null on the cuDNN path
  int height_ = 0, width_ = 0;
  bool within_channel_ = false;
  // On a CUDA device, whether cuDNN runs the layer (decided at setup).
  bool use_cudnn_ = false;
#ifdef BANYAN_WITH_CUDA
  cuda::LrnDesc lrn_desc_;
  cuda::TensorDesc tensor_desc_;  // x, y, dx and dy: (N, C, H, W)
#endif
};

}  // namespace banyan
