// CPU BatchNorm: per-channel statistics in one shifted pass (rows summed in
// float by the vector units, rows accumulated in double), Caffe's
// running-average update, and the full backward through the batch mean and
// variance.  Channels are split among the worker's threads; each channel is
// reduced by one thread in a fixed order, so results do not depend on the
// thread count.
#include "layers/batch_norm.h"

#include <algorithm>
#include <cmath>

#include "engine/core/parallel.h"
#include "layers/registry.h"

namespace banyan {

Status BatchNormLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const BatchNormConfig& c = config_.batch_norm;
  if (!(c.eps >= 0.0f && std::isfinite(c.eps))) {
    return error("eps must be a finite value >= 0, got " + std::to_string(c.eps));
  }
  if (!(c.moving_average_fraction >= 0.0f && c.moving_average_fraction <= 1.0f)) {
    return error("moving_average_fraction must lie in [0, 1], got " +
                 std::to_string(c.moving_average_fraction));
  }
  const Shape& s = bottom[0]->shape();
  if (s.num_axes() < 1) {
    return error("bottom '" + bottom[0]->name() + "' has shape " + s.to_string() +
                 "; expected (N, C, ...) with at least one axis");
  }
  num_ = s.dim(0);
  channels_ = s.num_axes() > 1 ? s.dim(1) : 1;
  spatial_ = s.num_axes() > 2 ? s.count(2) : 1;
  top[0]->set_shape(s);
  FillerConfig zero;  // constant 0
  declare_param(Shape{channels_}, zero, /*learnable=*/false);
  declare_param(Shape{channels_}, zero, /*learnable=*/false);
  declare_param(Shape{1}, zero, /*learnable=*/false);
  BANYAN_RETURN_IF_ERROR(
      Buffer::allocate(device(), 2 * static_cast<size_t>(channels_) * sizeof(float), &stats_)
          .with_context("layer '" + name() + "' (BatchNorm) statistics"));
#ifdef BANYAN_WITH_CUDA
  if (device().is_cuda()) return setup_gpu();
#endif
  return Status::success();
}

void BatchNormLayer::load_global_stats() {
  const float s = params_[2].blob->data()[0];
  const float scale = s == 0.0f ? 1.0f : 1.0f / s;
  const float* mean_blob = params_[0].blob->data();
  const float* var_blob = params_[1].blob->data();
  for (int64_t c = 0; c < channels_; ++c) {
    mean()[c] = mean_blob[c] * scale;
    inv_std()[c] = 1.0f / std::sqrt(var_blob[c] * scale + config_.batch_norm.eps);
  }
}

void BatchNormLayer::compute_batch_stats(const float* x) {
  const int64_t m = num_ * spatial_;
  const float maf = config_.batch_norm.moving_average_fraction;
  const double correction = m > 1 ? static_cast<double>(m) / static_cast<double>(m - 1) : 1.0;
  float* mean_blob = params_[0].blob->data();
  float* var_blob = params_[1].blob->data();
  float* factor = params_[2].blob->data();
  factor[0] = factor[0] * maf + 1.0f;
  float* mean_out = mean();
  float* inv_std_out = inv_std();
  const float eps = config_.batch_norm.eps;
  parallel_for(channels_, m, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      // One pass of sums shifted by the channel's first value (cancellation
      // stays small while the shift is near the mean), each row summed in
      // float by the vector units, the rows in double.
      const float shift = m > 0 ? x[c * spatial_] : 0.0f;
      double sum = 0.0, sq = 0.0;
      for (int64_t n = 0; n < num_; ++n) {
        const float* xc = x + (n * channels_ + c) * spatial_;
        float row_sum = 0.0f, row_sq = 0.0f;
#pragma omp simd reduction(+ : row_sum, row_sq)
        for (int64_t i = 0; i < spatial_; ++i) {
          const float d = xc[i] - shift;
          row_sum += d;
          row_sq += d * d;
        }
        sum += row_sum;
        sq += row_sq;
      }
      const double mean_shifted = m > 0 ? sum / static_cast<double>(m) : 0.0;
      const double var =
          m > 0 ? std::max(0.0, sq / static_cast<double>(m) - mean_shifted * mean_shifted) : 0.0;
      const double mu = shift + mean_shifted;
      mean_out[c] = static_cast<float>(mu);
      inv_std_out[c] = static_cast<float>(1.0 / std::sqrt(var + eps));
      mean_blob[c] = static_cast<float>(mean_blob[c] * maf + mu);
      var_blob[c] = static_cast<float>(var_blob[c] * maf + correction * var);
    }
  });
}

void BatchNormLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                 WorkerContext& ctx) {
  const auto& configured = config_.batch_norm.use_global_stats;
  used_global_stats_ = configured.has_value() ? *configured : ctx.step().phase == Phase::kTest;
  const float* x = bottom[0]->data();
  if (used_global_stats_) {
    load_global_stats();
  } else {
    compute_batch_stats(x);
  }
  float* y = top[0]->data();
  const float* mean_in = mean();
  const float* inv_std_in = inv_std();
  parallel_for(num_ * channels_, spatial_, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t c = row % channels_;
      const float mu = mean_in[c], is = inv_std_in[c];
      const float* xr = x + row * spatial_;
      float* yr = y + row * spatial_;
#pragma omp simd
      for (int64_t i = 0; i < spatial_; ++i) yr[i] = (xr[i] - mu) * is;
    }
  });
}

void BatchNormLayer::backward_cpu(const std::vector<Blob*>& top,
                                  const std::vector<bool>& propagate_down,
                                  const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const float* x = bottom[0]->data();
  const float* dy = top[0]->diff();
  float* dx = bottom[0]->diff();
  const double m = static_cast<double>(num_ * spatial_);
  // Per channel: the means of dy and of dy * xhat, then dx.
  const float* mean_in = mean();
  const float* inv_std_in = inv_std();
  const bool batch_stats = !used_global_stats_;
  parallel_for(channels_, num_ * spatial_, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const float mu = mean_in[c], is = inv_std_in[c];
      double sum_dy = 0.0, sum_dy_xhat = 0.0;
      if (batch_stats) {
        for (int64_t n = 0; n < num_; ++n) {
          const int64_t base = (n * channels_ + c) * spatial_;
          float row_dy = 0.0f, row_dy_xhat = 0.0f;
#pragma omp simd reduction(+ : row_dy, row_dy_xhat)
          for (int64_t i = 0; i < spatial_; ++i) {
            row_dy += dy[base + i];
            row_dy_xhat += dy[base + i] * ((x[base + i] - mu) * is);
          }
          sum_dy += row_dy;
          sum_dy_xhat += row_dy_xhat;
        }
      }
      const float mean_dy = m > 0 ? static_cast<float>(sum_dy / m) : 0.0f;
      const float mean_dy_xhat = m > 0 ? static_cast<float>(sum_dy_xhat / m) : 0.0f;
      for (int64_t n = 0; n < num_; ++n) {
        const int64_t base = (n * channels_ + c) * spatial_;
#pragma omp simd
        for (int64_t i = 0; i < spatial_; ++i) {
          const float xhat = (x[base + i] - mu) * is;
          dx[base + i] = is * (dy[base + i] - mean_dy - xhat * mean_dy_xhat);
        }
      }
    }
  });
}

std::unique_ptr<Layer> new_batch_norm_layer(const LayerConfig& config) {
  return std::make_unique<BatchNormLayer>(config);
}

}  // namespace banyan
