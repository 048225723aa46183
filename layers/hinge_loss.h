// HingeLoss (Caffe's): the one-vs-all hinge loss of a linear SVM over K
// class scores per sample, L1 or squared (L2).
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.hinge_loss.norm.  Bottoms: scores x (N x ..., K = count / N
// per sample, N = the first dimension) and labels (N values, each a class id
// in [0, K)).  Top: the loss, shape ().  With t[n, k] = +1 for k = label n and
// -1 otherwise and margin m = max(0, 1 - t x):
//   loss = sum over n, k of m (L1) or m^2 (L2), divided by N.
// Backward: dx = -t * (m > 0) * w / N (L1) or -2 t m w / N (L2), w =
// top_diff (the loss weight); labels receive no gradient.  A label that is
// not a class id is reported on the context (CPU) or makes the loss and that
// sample's gradient NaN (GPU).  Default loss weight 1.
class HingeLossLayer : public Layer {
 public:
  explicit HingeLossLayer(LayerConfig config) : Layer(std::move(config)) {}
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
  bool squared() const { return config_.hinge_loss.norm == HingeLossConfig::Norm::kL2; }

  int64_t num_ = 0, classes_ = 0;  // N, K
  Buffer margins_;                 // m (N, K) of the last forward
  Buffer gpu_scratch_;             // CUDA: the loss total's scratch (loss_util.h)
};

}  // namespace banyan
