// LRN layer (Caffe's "LRN", ACROSS_CHANNELS): local response normalisation
// over a window of neighbouring channels at each pixel, as in AlexNet.
#pragma once

#include <memory>

#include "layers/layer.h"

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
class LrnLayer : public Layer {
 public:
  explicit LrnLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;

 protected:
  void forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;

 private:
  int num_ = 0, channels_ = 0;
  int64_t plane_ = 0;            // H * W
  std::unique_ptr<Blob> scale_;  // (N, C, H, W), written by forward
};

}  // namespace banyan
