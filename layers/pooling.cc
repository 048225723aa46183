// CPU Pooling: MAX through oneDNN on the default backend (pooling_dnnl.h);
// otherwise each (n, c) plane is pooled independently (planes split among
// the worker's threads) and MAX records the argmax of every output in the
// layer's own buffer for backward.
#include "layers/pooling.h"

#include <glog/logging.h>

#include <algorithm>
#include <string>

#include "engine/core/parallel.h"
#include "layers/registry.h"

namespace banyan {
namespace {

std::string pair(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

// Float holds every integer below 2^24 exactly; argmax indices must fit.
constexpr int64_t kMaxArgmaxPlane = int64_t{1} << 24;

}  // namespace

Status PoolingLayer::validate_config() const {
  const PoolingConfig& c = config_.pooling;
  if (c.global_pooling) {
    if (c.kernel_h != 0 || c.kernel_w != 0) {
      return error(
          "global_pooling takes its kernel from the bottom; do not give a kernel size "
          "(got " +
          pair(c.kernel_h, c.kernel_w) + ")");
    }
    if (c.pad_h != 0 || c.pad_w != 0 || c.stride_h != 1 || c.stride_w != 1) {
      return error("global_pooling requires pad 0 and stride 1, got pad " + pair(c.pad_h, c.pad_w) +
                   " and stride " + pair(c.stride_h, c.stride_w));
    }
    return Status::success();
  }
  if (c.kernel_h <= 0 || c.kernel_w <= 0) {
    return error("kernel size must be positive, got " + pair(c.kernel_h, c.kernel_w));
  }
  if (c.stride_h <= 0 || c.stride_w <= 0) {
    return error("stride must be positive, got " + pair(c.stride_h, c.stride_w));
  }
  if (c.pad_h < 0 || c.pad_w < 0) return error("pad must be >= 0, got " + pair(c.pad_h, c.pad_w));
  if (c.pad_h >= c.kernel_h || c.pad_w >= c.kernel_w) {
    return error("pad " + pair(c.pad_h, c.pad_w) + " must be smaller than the kernel " +
                 pair(c.kernel_h, c.kernel_w));
  }
  return Status::success();
}

int64_t PoolingLayer::pooled_size(int64_t in, int kernel, int pad, int stride) const {
  const int64_t span = in + 2 * static_cast<int64_t>(pad) - kernel;
  int64_t pooled = config_.pooling.round_mode == PoolingConfig::RoundMode::kCeil
                       ? (span + stride - 1) / stride + 1
                       : span / stride + 1;
  if (pad > 0 && (pooled - 1) * stride >= in + pad) --pooled;
  return pooled;
}

Status PoolingLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  BANYAN_RETURN_IF_ERROR(validate_config());
  const PoolingConfig& c = config_.pooling;
  const Shape& s = bottom[0]->shape();
  if (s.num_axes() != 4) {
    return error("bottom '" + bottom[0]->name() + "' must be 4-D (N, C, H, W), got shape " +
                 s.to_string());
  }
  height_ = static_cast<int>(s.dim(2));
  width_ = static_cast<int>(s.dim(3));
  kernel_h_ = c.global_pooling ? height_ : c.kernel_h;
  kernel_w_ = c.global_pooling ? width_ : c.kernel_w;
  stride_h_ = c.stride_h;
  stride_w_ = c.stride_w;
  pad_h_ = c.pad_h;
  pad_w_ = c.pad_w;
  if (kernel_h_ > height_ + 2 * pad_h_ || kernel_w_ > width_ + 2 * pad_w_) {
    return error("kernel " + pair(kernel_h_, kernel_w_) + " is larger than the padded input " +
                 pair(height_ + 2 * pad_h_, width_ + 2 * pad_w_) + " of bottom '" +
                 bottom[0]->name() + "' " + s.to_string());
  }
  const int64_t pooled_h = pooled_size(height_, kernel_h_, pad_h_, stride_h_);
  const int64_t pooled_w = pooled_size(width_, kernel_w_, pad_w_, stride_w_);
  if (pooled_h <= 0 || pooled_w <= 0) {
    return error("output size would be " + pair(pooled_h, pooled_w) + " for bottom '" +
                 bottom[0]->name() + "' " + s.to_string());
  }
  pooled_h_ = static_cast<int>(pooled_h);
  pooled_w_ = static_cast<int>(pooled_w);
  planes_ = s.dim(0) * s.dim(1);
  const Shape top_shape{s.dim(0), s.dim(1), pooled_h, pooled_w};
  top[0]->set_shape(top_shape);
  argmax_.reset();
  dnnl_.reset();
  // oneDNN gives -FLT_MAX for a window wholly past the input (ceil rounding
  // without padding can make one); Caffe's answer there is 0, so such
  // geometries stay on the layer's own code.
  const bool windows_touch_input = (pooled_h_ - 1) * stride_h_ - pad_h_ < height_ &&
                                   (pooled_w_ - 1) * stride_w_ - pad_w_ < width_;
  if (c.pool == PoolingConfig::Method::kMax && device().is_cpu() &&
      cpu_.backend == CpuBackend::kDefault && windows_touch_input) {
    PoolGeometry g{static_cast<int>(s.dim(0)),
                   static_cast<int>(s.dim(1)),
                   height_,
                   width_,
                   kernel_h_,
                   kernel_w_,
                   stride_h_,
                   stride_w_,
                   pad_h_,
                   pad_w_,
                   pooled_h_,
                   pooled_w_};
    auto plan = std::make_unique<DnnlMaxPooling>();
    const Status made = plan->create(g, cpu_.threads);
    if (made.ok()) {
      dnnl_ = std::move(plan);
      return Status::success();
    }
    if (made.code() != StatusCode::kUnimplemented) return made;
    LOG(WARNING) << "layer '" << name() << "' (Pooling) " << s.to_string()
                 << ": the reference implementation runs instead: " << made.message();
  }
  if (c.pool == PoolingConfig::Method::kMax) {
    if (s.count(2) >= kMaxArgmaxPlane) {
      return error("MAX pooling supports planes of fewer than 2^24 pixels, bottom '" +
                   bottom[0]->name() + "' has " + s.to_string());
    }
    argmax_ = std::make_unique<Blob>(name() + "/argmax");
    argmax_->set_shape(top_shape);
    BANYAN_RETURN_IF_ERROR(argmax_->allocate(device()));
  }
  return Status::success();
}

PoolingLayer::Window PoolingLayer::window_at(int oy, int ox) const {
  const int hstart = oy * stride_h_ - pad_h_, wstart = ox * stride_w_ - pad_w_;
  const int hend = std::min(hstart + kernel_h_, height_ + pad_h_);
  const int wend = std::min(wstart + kernel_w_, width_ + pad_w_);
  const int dh = hend - hstart, dw = wend - wstart;
  Window win;
  win.divisor = (dh > 0 && dw > 0) ? dh * dw : 1;
  win.h0 = std::max(hstart, 0);
  win.w0 = std::max(wstart, 0);
  win.h1 = std::min(hend, height_);
  win.w1 = std::min(wend, width_);
  return win;
}

void PoolingLayer::max_forward(const float* x, float* y, float* argmax) const {
  for (int oy = 0; oy < pooled_h_; ++oy) {
    const Window row = window_at(oy, 0);
    for (int ox = 0; ox < pooled_w_; ++ox) {
      const int w0 = std::max(ox * stride_w_ - pad_w_, 0);
      const int w1 = std::min(ox * stride_w_ - pad_w_ + kernel_w_, width_);
      // The first pixel of the window, then strictly larger ones: the first
      // maximum in reading order wins ties.  An empty window gives index -1.
      int best_index = -1;
      float best = 0.0f;
      if (row.h0 < row.h1 && w0 < w1) {
        best_index = row.h0 * width_ + w0;
        best = x[best_index];
        for (int h = row.h0; h < row.h1; ++h) {
          const float* xr = x + h * width_;
          for (int w = w0; w < w1; ++w) {
            // Selects, not a branch: which pixel wins is data, and random.
            const bool larger = xr[w] > best;
            best = larger ? xr[w] : best;
            best_index = larger ? h * width_ + w : best_index;
          }
        }
      }
      y[oy * pooled_w_ + ox] = best;
      argmax[oy * pooled_w_ + ox] = static_cast<float>(best_index);
    }
  }
}

void PoolingLayer::ave_forward(const float* x, float* y) const {
  for (int oy = 0; oy < pooled_h_; ++oy) {
    for (int ox = 0; ox < pooled_w_; ++ox) {
      const Window win = window_at(oy, ox);
      double sum = 0.0;
      for (int h = win.h0; h < win.h1; ++h) {
        for (int w = win.w0; w < win.w1; ++w) sum += x[h * width_ + w];
      }
      y[oy * pooled_w_ + ox] = static_cast<float>(sum / win.divisor);
    }
  }
}

void PoolingLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                               WorkerContext& /*ctx*/) {
  if (dnnl_ != nullptr) return dnnl_->forward(bottom[0]->data(), top[0]->data());
  const int64_t in_plane = static_cast<int64_t>(height_) * width_;
  const int64_t out_plane = static_cast<int64_t>(pooled_h_) * pooled_w_;
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  float* argmax = argmax_ != nullptr ? argmax_->data() : nullptr;
  parallel_for(planes_, in_plane, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      if (argmax != nullptr) {
        max_forward(x + p * in_plane, y + p * out_plane, argmax + p * out_plane);
      } else {
        ave_forward(x + p * in_plane, y + p * out_plane);
      }
    }
  });
}

void PoolingLayer::backward_cpu(const std::vector<Blob*>& top,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  if (dnnl_ != nullptr) return dnnl_->backward(top[0]->diff(), bottom[0]->diff());
  const int64_t in_plane = static_cast<int64_t>(height_) * width_;
  const int64_t out_plane = static_cast<int64_t>(pooled_h_) * pooled_w_;
  const float* argmax_all = argmax_ != nullptr ? argmax_->data() : nullptr;
  parallel_for(planes_, in_plane, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* dy = top[0]->diff() + p * out_plane;
      float* dx = bottom[0]->diff() + p * in_plane;
      std::fill(dx, dx + in_plane, 0.0f);
      if (argmax_all != nullptr) {
        const float* argmax = argmax_all + p * out_plane;
        for (int64_t o = 0; o < out_plane; ++o) {
          const int index = static_cast<int>(argmax[o]);
          if (index >= 0) dx[index] += dy[o];
        }
        continue;
      }
      ave_backward(dy, dx);
    }
  });
}

void PoolingLayer::ave_backward(const float* dy, float* dx) const {
  for (int oy = 0; oy < pooled_h_; ++oy) {
    for (int ox = 0; ox < pooled_w_; ++ox) {
      const Window win = window_at(oy, ox);
      const float g = dy[oy * pooled_w_ + ox] / static_cast<float>(win.divisor);
      for (int h = win.h0; h < win.h1; ++h) {
        for (int w = win.w0; w < win.w1; ++w) dx[h * width_ + w] += g;
      }
    }
  }
}

std::unique_ptr<Layer> new_pooling_layer(const LayerConfig& config) {
  return std::make_unique<PoolingLayer>(config);
}

}  // namespace banyan
