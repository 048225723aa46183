// CPU LRN: window sums are taken directly (local_size terms per element
// across channels, local_size^2 within a channel) rather than by a running
// sum, which keeps them exact for any mix of magnitudes.  Samples (across) or
// planes (within) are split among the worker's threads, and scale^-beta
// takes square roots (which vectorise) for the betas nets use (0.75, 0.5, 1)
// instead of pow.
#include "layers/lrn.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <sstream>
#include <string>

#include "engine/core/parallel.h"
#include "layers/registry.h"

namespace banyan {
namespace {

// The parameter ranges cuDNN's LRN accepts (cudnn_ops.h: CUDNN_LRN_MAX_N,
// CUDNN_LRN_MIN_K, CUDNN_LRN_MIN_BETA); CPU-only builds do not see that header.
constexpr int kCudnnMaxN = 16;
constexpr double kCudnnMinK = 1e-5;
constexpr double kCudnnMinBeta = 0.01;

// out[i] = s[i]^-beta.  beta 0.75: 1 / sqrt(s * sqrt(s)) (AlexNet's, within
// 2 ulp of pow); 0.5 and 1 likewise exactly rounded steps; pow otherwise.
void power_minus_beta(const float* s, float* out, int64_t n, float beta) {
  if (beta == 0.75f) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = 1.0f / std::sqrt(s[i] * std::sqrt(s[i]));
  } else if (beta == 0.5f) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = 1.0f / std::sqrt(s[i]);
  } else if (beta == 1.0f) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = 1.0f / s[i];
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = std::pow(s[i], -beta);
  }
}

// One sample (C, plane): scale = k + alpha/n * (window sum of x^2), y = x *
// scale^-beta.  Plain pointers and values, so the loops vectorise.
void lrn_forward_sample(const float* x, float* scale, float* y, int channels, int64_t plane,
                        const LrnConfig& c) {
  const int half = c.local_size / 2;
  const float k = c.k, beta = c.beta;
  const float alpha_over_n = c.alpha / static_cast<float>(c.local_size);
  for (int ch = 0; ch < channels; ++ch) {
    float* sc = scale + ch * plane;
    std::fill(sc, sc + plane, 0.0f);
    const int lo = std::max(ch - half, 0), hi = std::min(ch + half, channels - 1);
    for (int j = lo; j <= hi; ++j) {
      const float* xj = x + j * plane;
#pragma omp simd
      for (int64_t i = 0; i < plane; ++i) sc[i] += xj[i] * xj[i];
    }
#pragma omp simd
    for (int64_t i = 0; i < plane; ++i) sc[i] = k + alpha_over_n * sc[i];
    // y holds scale^-beta first, then x times it.
    const float* xc = x + ch * plane;
    float* yc = y + ch * plane;
    power_minus_beta(sc, yc, plane, beta);
#pragma omp simd
    for (int64_t i = 0; i < plane; ++i) yc[i] *= xc[i];
  }
}

// dx = dy * scale^-beta - 2 alpha beta / n * x * (window sum of dy * y / scale).
void lrn_backward_sample(const float* x, const float* y, const float* dy, const float* scale,
                         float* dx, int channels, int64_t plane, const LrnConfig& c) {
  const int half = c.local_size / 2;
  const float beta = c.beta;
  const float coef = 2.0f * c.alpha * c.beta / static_cast<float>(c.local_size);
  for (int ch = 0; ch < channels; ++ch) {
    const int64_t off = ch * plane;
    power_minus_beta(scale + off, dx + off, plane, beta);
#pragma omp simd
    for (int64_t i = 0; i < plane; ++i) dx[off + i] *= dy[off + i];
    const int lo = std::max(ch - half, 0), hi = std::min(ch + half, channels - 1);
    for (int j = lo; j <= hi; ++j) {
      const int64_t oj = j * plane;
#pragma omp simd
      for (int64_t i = 0; i < plane; ++i) {
        dx[off + i] -= coef * x[off + i] * dy[oj + i] * y[oj + i] / scale[oj + i];
      }
    }
  }
}

// WITHIN_CHANNEL, one (H, W) plane: scale = 1 + alpha * (window sum of x^2)
// / n with n = local_size^2, y = x * scale^-beta.  Each window sum is taken
// in row-major order, as lrn.cu does.
void within_forward_plane(const float* x, float* scale, float* y, int height, int width,
                          const LrnConfig& c) {
  const int half = c.local_size / 2;
  const float n = static_cast<float>(c.local_size) * static_cast<float>(c.local_size);
  for (int h = 0; h < height; ++h) {
    const int h0 = std::max(h - half, 0), h1 = std::min(h + half, height - 1);
    for (int w = 0; w < width; ++w) {
      const int w0 = std::max(w - half, 0), w1 = std::min(w + half, width - 1);
      float sum = 0.0f;
      for (int i = h0; i <= h1; ++i) {
        for (int j = w0; j <= w1; ++j) sum += x[i * width + j] * x[i * width + j];
      }
      scale[h * width + w] = 1.0f + c.alpha * (sum / n);
    }
  }
  const int64_t plane = static_cast<int64_t>(height) * width;
  power_minus_beta(scale, y, plane, c.beta);
  for (int64_t i = 0; i < plane; ++i) y[i] *= x[i];
}

// dx = dy * scale^-beta - 2 alpha beta / n * x * (window sum of dy * y / scale).
void within_backward_plane(const float* x, const float* y, const float* dy, const float* scale,
                           float* dx, int height, int width, const LrnConfig& c) {
  const int half = c.local_size / 2;
  const float n = static_cast<float>(c.local_size) * static_cast<float>(c.local_size);
  const float coef = 2.0f * c.alpha * c.beta / n;
  power_minus_beta(scale, dx, static_cast<int64_t>(height) * width, c.beta);
  for (int h = 0; h < height; ++h) {
    const int h0 = std::max(h - half, 0), h1 = std::min(h + half, height - 1);
    for (int w = 0; w < width; ++w) {
      const int w0 = std::max(w - half, 0), w1 = std::min(w + half, width - 1);
      float cross = 0.0f;
      for (int i = h0; i <= h1; ++i) {
        for (int j = w0; j <= w1; ++j) {
          const int o = i * width + j;
          cross += dy[o] * y[o] / scale[o];
        }
      }
      const int e = h * width + w;
      dx[e] = dx[e] * dy[e] - coef * x[e] * cross;
    }
  }
}

}  // namespace

Status LrnLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const LrnConfig& c = config_.lrn;
  if (c.local_size <= 0 || c.local_size % 2 == 0) {
    return error("local_size must be a positive odd number, got " + std::to_string(c.local_size));
  }
  within_channel_ = c.norm_region == LrnConfig::NormRegion::kWithinChannel;
  if (within_channel_ && !(c.alpha >= 0.0f)) {
    return error("alpha must be >= 0 so the scale stays positive, got " + format_value(c.alpha));
  }
  if (!within_channel_ && (!(c.k > 0.0f) || !(c.alpha >= 0.0f))) {
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
  height_ = static_cast<int>(s.dim(2));
  width_ = static_cast<int>(s.dim(3));
  top[0]->set_shape(s);
  use_cudnn_ = !within_channel_ && device().is_cuda() && c.local_size <= kCudnnMaxN &&
               c.k >= kCudnnMinK && c.beta >= kCudnnMinBeta && s.count() > 0 && s.count() < INT_MAX;
  scale_.reset();
  if (use_cudnn_) return Status::success();
  scale_ = std::make_unique<Blob>(name() + "/scale");
  scale_->set_shape(s);
  return scale_->allocate(device());
}

void LrnLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                           WorkerContext& /*ctx*/) {
  if (within_channel_) return forward_within_cpu(bottom[0]->data(), top[0]->data());
  const LrnConfig& c = config_.lrn;
  const int64_t sample = static_cast<int64_t>(channels_) * plane_;
  const float* x = bottom[0]->data();
  float* scale = scale_->data();
  float* y = top[0]->data();
  const int channels = channels_;
  const int64_t plane = plane_;
  const LrnConfig params = c;
  parallel_for(num_, sample * c.local_size, 1, [=](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      lrn_forward_sample(x + n * sample, scale + n * sample, y + n * sample, channels, plane,
                         params);
    }
  });
}

void LrnLayer::backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                            const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  if (within_channel_) {
    return backward_within_cpu(bottom[0]->data(), top[0]->data(), top[0]->diff(),
                               bottom[0]->diff());
  }
  const int64_t sample = static_cast<int64_t>(channels_) * plane_;
  const float* x = bottom[0]->data();
  const float* y = top[0]->data();
  const float* dy = top[0]->diff();
  const float* scale = scale_->data();
  float* dx = bottom[0]->diff();
  const int channels = channels_;
  const int64_t plane = plane_;
  const LrnConfig params = config_.lrn;
  parallel_for(num_, sample * params.local_size, 1, [=](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const int64_t o = n * sample;
      lrn_backward_sample(x + o, y + o, dy + o, scale + o, dx + o, channels, plane, params);
    }
  });
}

void LrnLayer::forward_within_cpu(const float* x, float* y) {
  const int height = height_, width = width_;
  const int64_t plane = plane_;
  const LrnConfig params = config_.lrn;
  float* scale = scale_->data();
  const int64_t work = plane * params.local_size * params.local_size;
  parallel_for(static_cast<int64_t>(num_) * channels_, work, 1, [=](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      within_forward_plane(x + p * plane, scale + p * plane, y + p * plane, height, width, params);
    }
  });
}

void LrnLayer::backward_within_cpu(const float* x, const float* y, const float* dy, float* dx) {
  const int height = height_, width = width_;
  const int64_t plane = plane_;
  const LrnConfig params = config_.lrn;
  const float* scale = scale_->data();
  const int64_t work = plane * params.local_size * params.local_size;
  parallel_for(static_cast<int64_t>(num_) * channels_, work, 1, [=](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t o = p * plane;
      within_backward_plane(x + o, y + o, dy + o, scale + o, dx + o, height, width, params);
    }
  });
}

std::unique_ptr<Layer> new_lrn_layer(const LayerConfig& config) {
  return std::make_unique<LrnLayer>(config);
}

}  // namespace banyan
