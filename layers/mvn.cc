// CPU MVN: per-row means and deviations in double (rounded to float as the
// GPU rounds them), then the elementwise normalization; backward from y.
#include "layers/mvn.h"

#include <climits>
#include <cmath>

#include "layers/registry.h"

namespace banyan {
namespace {

// float(mean over the row of a (times b, when given)).
float row_mean(const float* a, const float* b, int64_t dim) {
  double sum = 0.0;
  for (int64_t i = 0; i < dim; ++i) sum += b != nullptr ? double{a[i]} * b[i] : double{a[i]};
  return static_cast<float>(sum / static_cast<double>(dim));
}

}  // namespace

Status MvnLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  if (top[0] == bottom[0]) return error("cannot run in place (backward reads y and writes dx)");
  const Shape& s = bottom[0]->shape();
  if (s.num_axes() < 1) return error("bottom '" + bottom[0]->name() + "' needs a first axis");
  rows_ = config_.mvn.across_channels || s.num_axes() < 2 ? s.dim(0) : s.dim(0) * s.dim(1);
  dim_ = rows_ > 0 ? s.count() / rows_ : 0;
  if (rows_ > INT_MAX) {
    return error("bottom '" + bottom[0]->name() + "' of shape " + s.to_string() + " has " +
                 std::to_string(rows_) + " rows; at most " + std::to_string(INT_MAX));
  }
  top[0]->set_shape(s);
  return Buffer::allocate(device(), static_cast<size_t>(4 * rows_ + 1) * sizeof(float), &stats_)
      .with_context("layer '" + name() + "' (MVN) row statistics");
}

void MvnLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                           WorkerContext& /*ctx*/) {
  if (dim_ == 0) return;
  const MvnConfig& c = config_.mvn;
  for (int64_t r = 0; r < rows_; ++r) {
    const float* x = bottom[0]->data() + r * dim_;
    float* y = top[0]->data() + r * dim_;
    const float mean = row_mean(x, nullptr, dim_);
    row_stat(kMean)[r] = mean;
    for (int64_t i = 0; i < dim_; ++i) y[i] = x[i] - mean;
    if (!c.normalize_variance) continue;
    const float deviation = std::sqrt(row_mean(y, y, dim_)) + c.eps;
    row_stat(kDeviation)[r] = deviation;
    for (int64_t i = 0; i < dim_; ++i) y[i] = y[i] / deviation;
  }
}

void MvnLayer::backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                            const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0] || dim_ == 0) return;
  const bool normalize = config_.mvn.normalize_variance;
  for (int64_t r = 0; r < rows_; ++r) {
    const float* y = top[0]->data() + r * dim_;
    const float* dy = top[0]->diff() + r * dim_;
    float* dx = bottom[0]->diff() + r * dim_;
    const float mean_dy = row_mean(dy, nullptr, dim_);
    if (!normalize) {
      for (int64_t i = 0; i < dim_; ++i) dx[i] = dy[i] - mean_dy;
      continue;
    }
    const float mean_ydy = row_mean(y, dy, dim_);
    const float deviation = row_stat(kDeviation)[r];
    for (int64_t i = 0; i < dim_; ++i) {
      dx[i] = (dy[i] - (y[i] * mean_ydy + mean_dy)) / deviation;
    }
  }
}

std::unique_ptr<Layer> new_mvn_layer(const LayerConfig& config) {
  return std::make_unique<MvnLayer>(config);
}

}  // namespace banyan
