// ContrastiveLoss (Caffe's, after Hadsell et al. 2006): pulls the features
// of similar pairs together and pushes dissimilar ones at least `margin`
// apart.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.contrastive_loss.{margin, legacy_version}.  Bottoms: a and
// b (N x C, or N x C x 1 x 1: the same shape, every axis after 1 of size 1)
// and the pair labels y (N values; as Caffe, a pair is similar when y
// truncated to an integer is non-zero).  Top: the loss, shape ().  With
// d = ||a_n - b_n||:
//   loss = 1/(2N) sum_n [similar: d^2; else max(margin - d, 0)^2]
// (legacy_version: max(margin - d^2, 0) for dissimilar pairs).
// Backward (w = top_diff): similar: da = w (a - b) / N; dissimilar, when the
// hinge is active: da = -w (margin - d) / (d + 1e-4) (a - b) / N (Caffe's
// 1e-4 keeps d = 0 finite), legacy: da = -w (a - b) / N; else 0; db = -da.
// Labels receive no gradient.  Default loss weight 1.
class ContrastiveLossLayer : public Layer {
 public:
  explicit ContrastiveLossLayer(LayerConfig config) : Layer(std::move(config)) {}
  DType top_dtype(int, const std::vector<Blob*>&, DType) const override { return DType::kFloat32; }

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif
  float default_loss_weight(int /*top_index*/) const override { return 1.0f; }
  bool can_propagate_down(int bottom_index) const override { return bottom_index < 2; }

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
  int64_t num_ = 0, channels_ = 0;  // N, C
  Buffer dist_sq_;                  // d^2 per pair of the last forward (N)
  // CUDA: per-pair loss terms (N) and the loss total's scratch.
  Buffer gpu_terms_, gpu_scratch_;
};

}  // namespace banyan
