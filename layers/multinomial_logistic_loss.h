// MultinomialLogisticLoss (Caffe's): the log loss of given class
// probabilities (for a net that ends in Softmax itself).
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Bottoms: probabilities p (N x ..., K = count / N per sample, N = the first
// dimension) and labels (N class ids in [0, K)).  Top: the loss, shape ():
//   loss = -1/N sum_n log(max(p[n, label_n], 1e-20)).
// Backward: dp[n, k] = 0 except dp[n, label_n] = -w / (N max(p, 1e-20)), w =
// top_diff; labels receive no gradient.  A label that is not a class id is
// reported on the context (CPU) or makes the loss and that sample's gradient
// NaN (GPU).  Default loss weight 1.
class MultinomialLogisticLossLayer : public Layer {
 public:
  explicit MultinomialLogisticLossLayer(LayerConfig config) : Layer(std::move(config)) {}
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
  int64_t num_ = 0, classes_ = 0;  // N, K
  // CUDA: the per-sample terms (N floats) and the loss total's scratch.
  Buffer gpu_terms_, gpu_scratch_;
};

}  // namespace banyan
