// Reduction layer (Caffe's): reduces every axis from `axis` on with SUM,
// ASUM (sum of |x|), SUMSQ (sum of x^2) or MEAN, times coeff; the top keeps
// the axes before `axis` (a scalar for axis 0).  Sums accumulate in double.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.reduction.{operation, axis, coeff} (negative axis counts
// from the end).  One bottom, one top of shape dims[0, axis).  Backward:
// dx = coeff * dy * (1, sign(x), 2x or 1/dim), sign(0) = 0 as in Caffe.
class ReductionLayer : public Layer {
 public:
  explicit ReductionLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
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
  int64_t num_ = 0;  // count(0, axis): rows, one top element each
  int64_t dim_ = 0;  // count(axis): elements per row
  // coeff, divided by dim for MEAN: what each row's sum is scaled by.
  float scale_ = 1.0f;
};

}  // namespace banyan
