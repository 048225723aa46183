// SigmoidCrossEntropyLoss (Caffe's): for scores x and targets t in [0, 1]
// of the same count, loss = -sum[t log s(x) + (1 - t) log(1 - s(x))] /
// normalizer, computed stably as sum[max(x, 0) - x t + log(1 + e^-|x|)].
// Normalization: loss_param's when given, else BATCH_SIZE (N, the first
// dimension), as Caffe; positions whose target equals ignore_label count
// for nothing.  Backward: dx = (s(x) - t) w / normalizer (w = top_diff[0],
// the loss weight, default 1); the targets get no gradient.
#pragma once

#include <memory>

#include "layers/layer.h"
#include "layers/neuron_math.h"

namespace banyan {

// One position's loss term (stable form), shared by the CPU and the GPU.
BANYAN_HD float sigmoid_cross_entropy(float x, float t) {
  return fmaxf(x, 0.0f) - x * t + log1pf(expf(-fabsf(x)));
}

class SigmoidCrossEntropyLossLayer : public Layer {
 public:
  explicit SigmoidCrossEntropyLossLayer(LayerConfig config) : Layer(std::move(config)) {}
  DType top_dtype(int, const std::vector<Blob*>&, DType) const override { return DType::kFloat32; }

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif
  float default_loss_weight(int /*top_index*/) const override { return 1.0f; }
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
  LossConfig::Normalization mode_ = LossConfig::Normalization::kBatchSize;
  int64_t num_ = 1;
  // The normalizer for `valid` non-ignored positions (at least 1).
  double normalizer(double valid, int64_t count) const;
  double cpu_normalizer_ = 1.0;  // of the last CPU forward
  // CUDA: per-position terms and valid flags, reduction partials, the two
  // sums and the normalizer (doubles).
  Buffer terms_, scratch_;
};

}  // namespace banyan
