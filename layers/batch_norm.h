// BatchNorm layer with Caffe's semantics and parameter layout (so Caffe
// weights import unchanged): per-channel normalisation, no affine part (a
// Scale layer follows for that), running statistics kept as parameters.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.batch_norm.{use_global_stats, moving_average_fraction (maf),
// eps}.  One bottom (N, C, ...) — channels on axis 1, C = 1 for a rank-1
// bottom — and one top of the same shape.  m = N * (elements per channel per
// sample).
//
// Parameters, all non-learnable (the solver never updates them), filled with
// 0: mean_blob (C), var_blob (C), factor s (1).
//
// Batch statistics (use_global_stats false; the default in TRAIN): with the
// batch mean mu and biased variance v of each channel,
//   y = (x - mu) / sqrt(v + eps),
// and the running statistics advance as
//   s = s * maf + 1;  mean_blob = mean_blob * maf + mu;
//   var_blob = var_blob * maf + m / (m - 1) * v   (factor 1 when m == 1).
// Global statistics (true; the default in TEST): mu = mean_blob / s and
// v = var_blob / s, where s == 0 (statistics never accumulated, or imported
// without a factor) is taken as 1; nothing is updated.
//
// Backward, with xhat = (x - mu) / sqrt(v + eps) and means over the channel's
// m elements: batch statistics
//   dx = (dy - mean(dy) - xhat * mean(dy * xhat)) / sqrt(v + eps);
// global statistics dx = dy / sqrt(v + eps).  Forward records which mode it
// ran in and the per-channel mu and 1 / sqrt(v + eps) for backward.  The GPU
// code sums in double in a fixed order (no atomics), so it is bitwise
// reproducible run to run and agrees with the CPU up to summation order.
class BatchNormLayer : public Layer {
 public:
  explicit BatchNormLayer(LayerConfig config) : Layer(std::move(config)) {}

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
  // Fills mean() and inv_std() from the stored statistics.
  void load_global_stats();
  // Fills mean() and inv_std() from the batch and advances the stored statistics.
  void compute_batch_stats(const float* x);
  float* mean() const { return static_cast<float*>(stats_.data()); }
  float* inv_std() const { return static_cast<float*>(stats_.data()) + channels_; }

  int64_t num_ = 0, channels_ = 0, spatial_ = 0;
  Buffer stats_;  // (2, C): mu, then 1 / sqrt(v + eps), of the last forward
  bool used_global_stats_ = false;
#ifdef BANYAN_WITH_CUDA
  // Allocates gpu_scratch_ (called by setup on CUDA devices).
  Status setup_gpu();
#endif
  // CUDA devices: block partials of the per-channel reductions, the batch
  // mean in double, and backward's per-channel means (batch_norm.cu).
  Buffer gpu_scratch_;
};

}  // namespace banyan
