// CPU LRN across channels: window sums are taken directly (local_size terms
// per element) rather than by a running sum, which keeps them exact for any
// mix of magnitudes at a cost that is small next to the convolutions.
#include "layers/lrn.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <sstream>
#include <string>

#include "layers/registry.h"

namespace banyan {
namespace {

// The parameter ranges cuDNN's LRN accepts (cudnn_ops.h: CUDNN_LRN_MAX_N,
// CUDNN_LRN_MIN_K, CUDNN_LRN_MIN_BETA); CPU-only builds do not see that header.
constexpr int kCudnnMaxN = 16;
constexpr double kCudnnMinK = 1e-5;
constexpr double kCudnnMinBeta = 0.01;

}  // namespace

Status LrnLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const LrnConfig& c = config_.lrn;
  if (c.local_size <= 0 || c.local_size % 2 == 0) {
    return error("local_size must be a positive odd number, got " + std::to_string(c.local_size));
  }
  if (!(c.k > 0.0f) || !(c.alpha >= 0.0f)) {
    std::ostringstream got;
    got << "k " << c.k << " and alpha " << c.alpha;
    return error("k must be > 0 and alpha >= 0 so the scale stays positive, got " + got.str());
  }
  const Shape& s = bottom[0]->shape();
  if (s.num_axes() != 4) {
    return error("bottom '" + bottom[0]->name() + "' must be 4-D (N, C, H, W), got shape " +
                 s.to_string());
  }
  num_ = static_cast<int>(s.dim(0));
  channels_ = static_cast<int>(s.dim(1));
  plane_ = s.count(2);
  top[0]->set_shape(s);
  use_cudnn_ = device().is_cuda() && c.local_size <= kCudnnMaxN && c.k >= kCudnnMinK &&
               c.beta >= kCudnnMinBeta && s.count() > 0 && s.count() < INT_MAX;
  scale_.reset();
  if (use_cudnn_) return Status::success();
  scale_ = std::make_unique<Blob>(name() + "/scale");
  scale_->set_shape(s);
  return scale_->allocate(device());
}

void LrnLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                           WorkerContext& /*ctx*/) {
  const LrnConfig& c = config_.lrn;
  const int half = c.local_size / 2;
  const float alpha_over_n = c.alpha / static_cast<float>(c.local_size);
  for (int n = 0; n < num_; ++n) {
    const int64_t base = static_cast<int64_t>(n) * channels_ * plane_;
    const float* x = bottom[0]->data() + base;
    float* scale = scale_->data() + base;
    float* y = top[0]->data() + base;
    for (int ch = 0; ch < channels_; ++ch) {
      float* sc = scale + ch * plane_;
      std::fill(sc, sc + plane_, 0.0f);
      const int lo = std::max(ch - half, 0), hi = std::min(ch + half, channels_ - 1);
      for (int j = lo; j <= hi; ++j) {
        const float* xj = x + j * plane_;
        for (int64_t i = 0; i < plane_; ++i) sc[i] += xj[i] * xj[i];
      }
      const float* xc = x + ch * plane_;
      float* yc = y + ch * plane_;
      for (int64_t i = 0; i < plane_; ++i) {
        sc[i] = c.k + alpha_over_n * sc[i];
        yc[i] = xc[i] * std::pow(sc[i], -c.beta);
      }
    }
  }
}

void LrnLayer::backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                            const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const LrnConfig& c = config_.lrn;
  const int half = c.local_size / 2;
  const float coef = 2.0f * c.alpha * c.beta / static_cast<float>(c.local_size);
  for (int n = 0; n < num_; ++n) {
    const int64_t base = static_cast<int64_t>(n) * channels_ * plane_;
    const float* x = bottom[0]->data() + base;
    const float* y = top[0]->data() + base;
    const float* dy = top[0]->diff() + base;
    const float* scale = scale_->data() + base;
    float* dx = bottom[0]->diff() + base;
    for (int ch = 0; ch < channels_; ++ch) {
      const int64_t off = ch * plane_;
      for (int64_t i = 0; i < plane_; ++i) {
        dx[off + i] = dy[off + i] * std::pow(scale[off + i], -c.beta);
      }
      const int lo = std::max(ch - half, 0), hi = std::min(ch + half, channels_ - 1);
      for (int j = lo; j <= hi; ++j) {
        const int64_t oj = j * plane_;
        for (int64_t i = 0; i < plane_; ++i) {
          dx[off + i] -= coef * x[off + i] * dy[oj + i] * y[oj + i] / scale[oj + i];
        }
      }
    }
  }
}

std::unique_ptr<Layer> new_lrn_layer(const LayerConfig& config) {
  return std::make_unique<LrnLayer>(config);
}

}  // namespace banyan
