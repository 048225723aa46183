// SoftmaxWithLoss layer: softmax over an axis followed by the multinomial
// logistic loss against integer class labels, fused so that the gradient is
// the stable (probability - one-hot) form.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Bottoms: scores (any shape, classes along config.softmax.axis, C = that
// dimension) and labels: one float holding an integer class id per position
// of scores outside the class axis (count = outer * inner, any shape, e.g. N,
// N x 1 or N x H x W for per-pixel scores).  Tops: the loss, shape () (one
// float), and optionally the probabilities (shape of scores).
//
// loss = sum over non-ignored positions of -log(max(p[label], FLT_MIN)),
// divided by the normalizer of config.loss.normalization: VALID (default) the
// number of non-ignored positions, BATCH_SIZE outer (the positions before the
// axis), FULL outer * inner, NONE 1; a normalizer of 0 is taken as 1.
// Positions whose label equals config.loss.ignore_label contribute nothing,
// to the loss or the gradient.  A label outside [0, C) (or not an integer) is
// a broken input that data layers reject earlier: on the CPU it fails a CHECK
// naming the layer and the value; on a GPU (which cannot stop without a host
// sync) it makes the loss and that position's gradient NaN.
//
// Backward: d scores = (p - onehot(label)) * top_diff[0] / normalizer; labels
// receive no gradient (CanPropagateDown(1) is false; their diff is never
// touched), and the probability top is an output only: its diff is ignored.
// The default loss weight of top 0 is 1 (of the probability top, 0).
class SoftmaxWithLossLayer : public Layer {
 public:
  explicit SoftmaxWithLossLayer(LayerConfig config) : Layer(std::move(config)) {}
  // The loss (and the probabilities, when asked for) in float32.
  DType top_dtype(int, const std::vector<Blob*>&, DType) const override { return DType::kFloat32; }

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif
  float default_loss_weight(int top_index) const override { return top_index == 0 ? 1.0f : 0.0f; }
  bool can_propagate_down(int bottom_index) const override { return bottom_index == 0; }

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
  // True when position value `v` is the ignore label.  Other values that
  // are no class id forward_cpu reports on the context (labels are data, so
  // a bad one is an error for the caller, never an abort).
  bool is_ignored(float v) const;
  float normalizer(int64_t valid) const;

  int64_t outer_ = 0, channels_ = 0, inner_ = 0;
  Buffer prob_;              // (outer, channels, inner) probabilities of the last forward
  float normalizer_ = 1.0f;  // of the last forward (CPU)
#ifdef BANYAN_WITH_CUDA
  // Allocates gpu_scratch_ (called by setup on CUDA devices).
  Status setup_gpu();
#endif
  // CUDA devices: the loss reduction's block partials and the last forward's
  // normalizer, which stays on the device (no host readback).
  Buffer gpu_scratch_;
};

}  // namespace banyan
