// MVN layer (Caffe's mean-variance normalization): subtracts each row's
// mean and, optionally, divides by its standard deviation plus eps.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.mvn.{normalize_variance, across_channels, eps}.  One bottom
// x, one top y of its shape.  Rows: each (n, c) (x viewed as (N * C, rest))
// or, across_channels, each n (x viewed as (N, rest)); D = values per row.
//   y = (x - mean) / (sqrt(var) + eps)    (normalize_variance; as Caffe, eps
//                                          is added to the deviation)
//   y = x - mean                          (otherwise)
// with mean and var = mean((x - mean)^2) over the row.  Backward, per row
// (as Caffe, using y): dx = (dy - mean(dy) - y mean(y dy)) / (sqrt(var) + eps),
// or dx = dy - mean(dy).  Not in place.
class MvnLayer : public Layer {
 public:
  explicit MvnLayer(LayerConfig config) : Layer(std::move(config)) {}

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
  // Per-row statistics in stats_: the mean, the deviation sqrt(var) + eps
  // (forward), mean(y dy) and mean(dy) (backward, GPU).
  enum Stat { kMean = 0, kDeviation = 1, kMeanYDy = 2, kMeanDy = 3 };
  float* row_stat(int which) const { return static_cast<float*>(stats_.data()) + which * rows_; }

  int64_t rows_ = 0, dim_ = 0;
  Buffer stats_;  // (4, rows)
};

}  // namespace banyan
