// EuclideanLoss (Caffe's): loss = sum((a - b)^2) / (2 N) over two bottoms of
// the same count, N their first dimension (1 for a scalar).  Backward:
// da = w (a - b) / N, db = -w (a - b) / N with w = top_diff[0] (the loss
// weight, default 1); both bottoms may receive gradients.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

class EuclideanLossLayer : public Layer {
 public:
  explicit EuclideanLossLayer(LayerConfig config) : Layer(std::move(config)) {}
  DType top_dtype(int, const std::vector<Blob*>&, DType) const override { return DType::kFloat32; }

  // Two bottoms of equal count; the top is a scalar.  Allocates the
  // difference (and on a GPU the reduction scratch).
  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif
  float default_loss_weight(int /*top_index*/) const override { return 1.0f; }

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
  int64_t num_ = 1;  // N
  Buffer diff_;      // a - b of the last forward (count floats)
  Buffer scratch_;   // CUDA: reduction partials and the sum (doubles)
};

}  // namespace banyan
