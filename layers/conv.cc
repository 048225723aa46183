// CPU Convolution.  oneDNN plan when the backend allows it; the reference:
// per sample, Im2Col into the workspace, then per group
// y_g (K/G, Ho*Wo) = W_g (K/G, C/G*kh*kw) * col_g (C/G*kh*kw, Ho*Wo).
// Backward reuses the same column buffer: first for dW, then for dx via Col2Im.
#include "layers/conv.h"

#include <glog/logging.h>

#include <climits>
#include <string>

#include "engine/core/math.h"
#include "layers/registry.h"

namespace banyan {
namespace {

std::string pair(int h, int w) { return std::to_string(h) + "x" + std::to_string(w); }

}  // namespace

std::string convolution_config_problem(const ConvolutionConfig& c) {
  if (c.num_output <= 0) return "num_output must be positive, got " + std::to_string(c.num_output);
  if (c.kernel_h <= 0 || c.kernel_w <= 0) {
    return "kernel size must be positive, got " + pair(c.kernel_h, c.kernel_w);
  }
  if (c.stride_h <= 0 || c.stride_w <= 0) {
    return "stride must be positive, got " + pair(c.stride_h, c.stride_w);
  }
  if (c.pad_h < 0 || c.pad_w < 0) return "pad must be >= 0, got " + pair(c.pad_h, c.pad_w);
  if (c.dilation_h <= 0 || c.dilation_w <= 0) {
    return "dilation must be positive, got " + pair(c.dilation_h, c.dilation_w);
  }
  if (c.group <= 0) return "group must be positive, got " + std::to_string(c.group);
  if (c.num_output % c.group != 0) {
    return "num_output " + std::to_string(c.num_output) + " is not divisible by group " +
           std::to_string(c.group);
  }
  return "";
}

Status ConvolutionLayer::validate_config() const {
  const std::string problem = convolution_config_problem(config_.convolution);
  return problem.empty() ? Status::success() : error(problem);
}

Status ConvolutionLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  BANYAN_RETURN_IF_ERROR(validate_config());
  const ConvolutionConfig& c = config_.convolution;
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
  const int64_t out_h = conv_output_size(s.dim(2), c.kernel_h, c.pad_h, c.stride_h, c.dilation_h);
  const int64_t out_w = conv_output_size(s.dim(3), c.kernel_w, c.pad_w, c.stride_w, c.dilation_w);
  if (out_h <= 0 || out_w <= 0) {
    return error(
        "kernel " + pair(c.kernel_h, c.kernel_w) + " with dilation " +
        pair(c.dilation_h, c.dilation_w) + " is larger than the padded input " +
        pair(static_cast<int>(s.dim(2) + 2 * c.pad_h), static_cast<int>(s.dim(3) + 2 * c.pad_w)) +
        " of bottom '" + bottom[0]->name() + "' " + s.to_string() + "; output size would be " +
        std::to_string(out_h) + "x" + std::to_string(out_w));
  }
  num_ = static_cast<int>(s.dim(0));
  out_channels_ = c.num_output;
  group_ = c.group;
  geom_ = ConvGeometry{};
  geom_.channels = static_cast<int>(s.dim(1));
  geom_.height = static_cast<int>(s.dim(2));
  geom_.width = static_cast<int>(s.dim(3));
  geom_.kernel_h = c.kernel_h;
  geom_.kernel_w = c.kernel_w;
  geom_.pad_h = c.pad_h;
  geom_.pad_w = c.pad_w;
  geom_.stride_h = c.stride_h;
  geom_.stride_w = c.stride_w;
  geom_.dilation_h = c.dilation_h;
  geom_.dilation_w = c.dilation_w;
  geom_.out_h = static_cast<int>(out_h);
  geom_.out_w = static_cast<int>(out_w);
  if (geom_.col_rows() * geom_.col_cols() > INT_MAX) {
    return error("one sample's column matrix (" + std::to_string(geom_.col_rows()) + " x " +
                 std::to_string(geom_.col_cols()) + ") exceeds the 2^31 elements GEMM accepts");
  }
  pointwise_ = c.kernel_h == 1 && c.kernel_w == 1 && c.stride_h == 1 && c.stride_w == 1 &&
               c.pad_h == 0 && c.pad_w == 0;
  declare_param(Shape{c.num_output, s.dim(1) / c.group, c.kernel_h, c.kernel_w}, c.weight_filler);
  if (c.bias_term) declare_param(Shape{c.num_output}, c.bias_filler);
  top[0]->set_shape(Shape{s.dim(0), c.num_output, out_h, out_w});
  dnnl_.reset();
  if (device().is_cpu() && cpu_.backend == CpuBackend::kDefault) {
    auto plan = std::make_unique<DnnlConvolution>();
    const Status made = plan->create(geom_, num_, out_channels_, group_, c.bias_term, cpu_.threads);
    if (made.ok()) {
      dnnl_ = std::move(plan);
      VLOG(1) << "layer " << name() << ": " << dnnl_->describe();
    } else {
      LOG(WARNING) << "layer '" << name() << "' (Convolution) " << s.to_string()
                   << ": the reference implementation runs instead: " << made.message();
    }
  }
  return Status::success();
}

size_t ConvolutionLayer::workspace_floats() const {
  if (device().is_cuda()) return gpu_workspace_floats_;
  if (dnnl_ != nullptr) return dnnl_->workspace_floats();
  return pointwise_ ? 0 : static_cast<size_t>(geom_.col_rows() * geom_.col_cols());
}

const float* ConvolutionLayer::columns(const float* x, WorkerContext& ctx) const {
  if (pointwise_) return x;
  CHECK_GE(ctx.workspace_floats(), workspace_floats()) << "layer " << name();
  im2_col(x, geom_, ctx.workspace());
  return ctx.workspace();
}

void ConvolutionLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                   WorkerContext& ctx) {
  if (dnnl_ == nullptr) return forward_reference(bottom, top, ctx);
  CHECK_GE(ctx.workspace_floats(), workspace_floats()) << "layer " << name();
  dnnl_->forward(bottom[0]->data(), params_[0].blob->data(),
                 params_.size() > 1 ? params_[1].blob->data() : nullptr, top[0]->data(),
                 ctx.workspace());
}

void ConvolutionLayer::backward_cpu(const std::vector<Blob*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (dnnl_ == nullptr) return backward_reference(top, propagate_down, bottom, ctx);
  CHECK_GE(ctx.workspace_floats(), workspace_floats()) << "layer " << name();
  dnnl_->backward(bottom[0]->data(), params_[0].blob->data(), top[0]->diff(),
                  params_[0].blob->diff(), params_.size() > 1 ? params_[1].blob->diff() : nullptr,
                  propagate_down[0] ? bottom[0]->diff() : nullptr, ctx.workspace());
}

void ConvolutionLayer::forward_reference(const std::vector<Blob*>& bottom,
                                         const std::vector<Blob*>& top, WorkerContext& ctx) {
  const int spatial = static_cast<int>(geom_.col_cols());
  const int in_size = geom_.channels * geom_.height * geom_.width;
  const int out_size = out_channels_ * spatial;
  const int k_per_group = out_channels_ / group_;
  const int taps = static_cast<int>(geom_.col_rows()) / group_;  // (C/G)*kh*kw
  const float* weight = params_[0].blob->data();
  const float* bias = params_.size() > 1 ? params_[1].blob->data() : nullptr;
  for (int n = 0; n < num_; ++n) {
    const float* col = columns(bottom[0]->data() + static_cast<int64_t>(n) * in_size, ctx);
    float* y = top[0]->data() + static_cast<int64_t>(n) * out_size;
    for (int g = 0; g < group_; ++g) {
      cpu_gemm(false, false, k_per_group, spatial, taps, 1.0f,
               weight + static_cast<int64_t>(g) * k_per_group * taps,
               col + static_cast<int64_t>(g) * taps * spatial, 0.0f,
               y + static_cast<int64_t>(g) * k_per_group * spatial);
    }
    if (bias == nullptr) continue;
    for (int k = 0; k < out_channels_; ++k) {
      float* yk = y + static_cast<int64_t>(k) * spatial;
      for (int i = 0; i < spatial; ++i) yk[i] += bias[k];
    }
  }
}

void ConvolutionLayer::backward_reference(const std::vector<Blob*>& top,
                                          const std::vector<bool>& propagate_down,
                                          const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  const int spatial = static_cast<int>(geom_.col_cols());
  const int in_size = geom_.channels * geom_.height * geom_.width;
  const int out_size = out_channels_ * spatial;
  const int k_per_group = out_channels_ / group_;
  const int taps = static_cast<int>(geom_.col_rows()) / group_;
  const float* weight = params_[0].blob->data();
  float* weight_diff = params_[0].blob->diff();
  float* bias_diff = params_.size() > 1 ? params_[1].blob->diff() : nullptr;
  for (int n = 0; n < num_; ++n) {
    const float* dy = top[0]->diff() + static_cast<int64_t>(n) * out_size;
    if (bias_diff != nullptr) {
      for (int k = 0; k < out_channels_; ++k) {
        const float* dyk = dy + static_cast<int64_t>(k) * spatial;
        double sum = 0.0;
        for (int i = 0; i < spatial; ++i) sum += dyk[i];
        bias_diff[k] += static_cast<float>(sum);
      }
    }
    const float* col = columns(bottom[0]->data() + static_cast<int64_t>(n) * in_size, ctx);
    // dW_g (K/G, taps) += dy_g (K/G, spatial) * col_g^T (spatial, taps)
    for (int g = 0; g < group_; ++g) {
      cpu_gemm(false, true, k_per_group, taps, spatial, 1.0f,
               dy + static_cast<int64_t>(g) * k_per_group * spatial,
               col + static_cast<int64_t>(g) * taps * spatial, 1.0f,
               weight_diff + static_cast<int64_t>(g) * k_per_group * taps);
    }
    if (!propagate_down[0]) continue;
    float* dx = bottom[0]->diff() + static_cast<int64_t>(n) * in_size;
    // dcol_g (taps, spatial) = W_g^T (taps, K/G) * dy_g (K/G, spatial); pointwise
    // convolutions write straight into dx, the others go through Col2Im.
    float* dcol = pointwise_ ? dx : ctx.workspace();
    for (int g = 0; g < group_; ++g) {
      cpu_gemm(true, false, taps, spatial, k_per_group, 1.0f,
               weight + static_cast<int64_t>(g) * k_per_group * taps,
               dy + static_cast<int64_t>(g) * k_per_group * spatial, 0.0f,
               dcol + static_cast<int64_t>(g) * taps * spatial);
    }
    if (!pointwise_) col2_im(dcol, geom_, dx);
  }
}

std::unique_ptr<Layer> new_convolution_layer(const LayerConfig& config) {
  return std::make_unique<ConvolutionLayer>(config);
}

}  // namespace banyan
