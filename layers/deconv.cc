// CPU Deconvolution: per sample, per group
//   col_g (K/G*kh*kw, H*W) = W_g^T (K/G*kh*kw, C/G) * x_g (C/G, H*W), then Col2Im into y;
// backward takes Im2Col of dy (the same column layout) for
//   dW_g (C/G, K/G*kh*kw) += x_g * col_g^T   and   dx_g = W_g * col_g.
#include "layers/deconv.h"

#include <glog/logging.h>

#include <climits>
#include <string>

#include "engine/core/math.h"
#include "layers/registry.h"

namespace banyan {
namespace {

std::string pair(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

// Output extent of a deconvolution along one axis (Caffe's formula).
int64_t deconv_output_size(int64_t in, int kernel, int pad, int stride, int dilation) {
  return stride * (in - 1) + static_cast<int64_t>(dilation) * (kernel - 1) + 1 - 2 * pad;
}

}  // namespace

Status DeconvolutionLayer::set_geometry(const Shape& s) {
  const ConvolutionConfig& c = config_.convolution;
  const int64_t out_h = deconv_output_size(s.dim(2), c.kernel_h, c.pad_h, c.stride_h, c.dilation_h);
  const int64_t out_w = deconv_output_size(s.dim(3), c.kernel_w, c.pad_w, c.stride_w, c.dilation_w);
  if (out_h <= 0 || out_w <= 0) {
    return error("pad " + pair(c.pad_h, c.pad_w) + " crops away the whole output of bottom " +
                 s.to_string() + " with kernel " + pair(c.kernel_h, c.kernel_w) + ", stride " +
                 pair(c.stride_h, c.stride_w) + " and dilation " +
                 pair(c.dilation_h, c.dilation_w) + "; output size would be " + pair(out_h, out_w));
  }
  if (out_h > INT_MAX || out_w > INT_MAX) {
    return error("output size " + pair(out_h, out_w) + " exceeds 2^31 per axis");
  }
  geom_ = ConvGeometry{};
  geom_.channels = c.num_output;
  geom_.height = static_cast<int>(out_h);
  geom_.width = static_cast<int>(out_w);
  geom_.kernel_h = c.kernel_h;
  geom_.kernel_w = c.kernel_w;
  geom_.pad_h = c.pad_h;
  geom_.pad_w = c.pad_w;
  geom_.stride_h = c.stride_h;
  geom_.stride_w = c.stride_w;
  geom_.dilation_h = c.dilation_h;
  geom_.dilation_w = c.dilation_w;
  geom_.out_h = static_cast<int>(s.dim(2));
  geom_.out_w = static_cast<int>(s.dim(3));
  // The convolution from the top's shape must give back the bottom's.
  CHECK_EQ(conv_output_size(out_h, c.kernel_h, c.pad_h, c.stride_h, c.dilation_h), s.dim(2));
  CHECK_EQ(conv_output_size(out_w, c.kernel_w, c.pad_w, c.stride_w, c.dilation_w), s.dim(3));
  if (geom_.col_rows() * geom_.col_cols() > INT_MAX) {
    return error("one sample's column matrix (" + std::to_string(geom_.col_rows()) + " x " +
                 std::to_string(geom_.col_cols()) + ") exceeds the 2^31 elements GEMM accepts");
  }
  return Status::success();
}

Status DeconvolutionLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const ConvolutionConfig& c = config_.convolution;
  if (std::string problem = convolution_config_problem(c); !problem.empty()) return error(problem);
  const Shape& s = bottom[0]->shape();
  if (s.num_axes() != 4) {
    return error("bottom '" + bottom[0]->name() + "' must be 4-D (N, C, H, W), got shape " +
                 s.to_string());
  }
  if (c.axis != 1 && c.axis != -3) {
    return error("axis must be 1 (the channel axis of NCHW), got " + std::to_string(c.axis));
  }
  if (s.dim(1) % c.group != 0) {
    return error("input channels " + std::to_string(s.dim(1)) + " of bottom '" + bottom[0]->name() +
                 "' are not divisible by group " + std::to_string(c.group));
  }
  BANYAN_RETURN_IF_ERROR(set_geometry(s));
  num_ = static_cast<int>(s.dim(0));
  in_channels_ = static_cast<int>(s.dim(1));
  group_ = c.group;
  pointwise_ = c.kernel_h == 1 && c.kernel_w == 1 && c.stride_h == 1 && c.stride_w == 1 &&
               c.pad_h == 0 && c.pad_w == 0;
  declare_param(Shape{s.dim(1), c.num_output / c.group, c.kernel_h, c.kernel_w}, c.weight_filler);
  if (c.bias_term) declare_param(Shape{c.num_output}, c.bias_filler);
  top[0]->set_shape(Shape{s.dim(0), c.num_output, geom_.height, geom_.width});
  return Status::success();
}

size_t DeconvolutionLayer::workspace_floats() const {
  if (device().is_cuda()) return gpu_workspace_floats_;
  return pointwise_ ? 0 : static_cast<size_t>(geom_.col_rows() * geom_.col_cols());
}

const float* DeconvolutionLayer::columns(const float* dy, WorkerContext& ctx) const {
  if (pointwise_) return dy;
  CHECK_GE(ctx.workspace_floats(), workspace_floats()) << "layer " << name();
  im2_col(dy, geom_, ctx.workspace());
  return ctx.workspace();
}

void DeconvolutionLayer::forward_cpu(const std::vector<Blob*>& bottom,
                                     const std::vector<Blob*>& top, WorkerContext& ctx) {
  CHECK_GE(ctx.workspace_floats(), workspace_floats()) << "layer " << name();
  const GemmFn gemm = cpu_.backend == CpuBackend::kReference ? cpu_gemm : dnnl_gemm;
  const int spatial = static_cast<int>(geom_.col_cols());  // H*W
  const int64_t in_size = static_cast<int64_t>(in_channels_) * spatial;
  const int64_t out_size = static_cast<int64_t>(geom_.channels) * geom_.height * geom_.width;
  const int c_per_group = in_channels_ / group_;
  const int taps = static_cast<int>(geom_.col_rows()) / group_;  // (K/G)*kh*kw
  const float* weight = params_[0].blob->data();                 // (C, K/G, kh, kw)
  const float* bias = params_.size() > 1 ? params_[1].blob->data() : nullptr;
  for (int n = 0; n < num_; ++n) {
    const float* x = bottom[0]->data() + n * in_size;  // (C, H, W)
    float* y = top[0]->data() + n * out_size;          // (K, Ho, Wo)
    float* col = pointwise_ ? y : ctx.workspace();
    for (int g = 0; g < group_; ++g) {
      gemm(true, false, taps, spatial, c_per_group, 1.0f,
           weight + static_cast<int64_t>(g) * c_per_group * taps,
           x + static_cast<int64_t>(g) * c_per_group * spatial, 0.0f,
           col + static_cast<int64_t>(g) * taps * spatial);
    }
    if (!pointwise_) col2_im(col, geom_, y);
    if (bias == nullptr) continue;
    const int64_t plane = static_cast<int64_t>(geom_.height) * geom_.width;
    for (int k = 0; k < geom_.channels; ++k) {
      float* yk = y + k * plane;
      for (int64_t i = 0; i < plane; ++i) yk[i] += bias[k];
    }
  }
}

void DeconvolutionLayer::backward_cpu(const std::vector<Blob*>& top,
                                      const std::vector<bool>& propagate_down,
                                      const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  const GemmFn gemm = cpu_.backend == CpuBackend::kReference ? cpu_gemm : dnnl_gemm;
  const int spatial = static_cast<int>(geom_.col_cols());
  const int64_t in_size = static_cast<int64_t>(in_channels_) * spatial;
  const int64_t plane = static_cast<int64_t>(geom_.height) * geom_.width;
  const int64_t out_size = geom_.channels * plane;
  const int c_per_group = in_channels_ / group_;
  const int taps = static_cast<int>(geom_.col_rows()) / group_;
  const float* weight = params_[0].blob->data();
  float* weight_diff = params_[0].blob->diff();
  float* bias_diff = params_.size() > 1 ? params_[1].blob->diff() : nullptr;
  for (int n = 0; n < num_; ++n) {
    const float* dy = top[0]->diff() + n * out_size;
    if (bias_diff != nullptr) {
      for (int k = 0; k < geom_.channels; ++k) {
        double sum = 0.0;
        for (int64_t i = 0; i < plane; ++i) sum += dy[k * plane + i];
        bias_diff[k] += static_cast<float>(sum);
      }
    }
    const float* col = columns(dy, ctx);
    const float* x = bottom[0]->data() + n * in_size;
    // dW_g (C/G, taps) += x_g (C/G, H*W) * col_g^T (H*W, taps)
    for (int g = 0; g < group_; ++g) {
      gemm(false, true, c_per_group, taps, spatial, 1.0f,
           x + static_cast<int64_t>(g) * c_per_group * spatial,
           col + static_cast<int64_t>(g) * taps * spatial, 1.0f,
           weight_diff + static_cast<int64_t>(g) * c_per_group * taps);
    }
    if (!propagate_down[0]) continue;
    // dx_g (C/G, H*W) = W_g (C/G, taps) * col_g (taps, H*W)
    float* dx = bottom[0]->diff() + n * in_size;
    for (int g = 0; g < group_; ++g) {
      gemm(false, false, c_per_group, spatial, taps, 1.0f,
           weight + static_cast<int64_t>(g) * c_per_group * taps,
           col + static_cast<int64_t>(g) * taps * spatial, 0.0f,
           dx + static_cast<int64_t>(g) * c_per_group * spatial);
    }
  }
}

std::unique_ptr<Layer> new_deconvolution_layer(const LayerConfig& config) {
  return std::make_unique<DeconvolutionLayer>(config);
}

}  // namespace banyan
