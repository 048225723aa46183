// GPU Deconvolution on cuDNN: the Convolution's plan (conv_cudnn.h) for the
// convolution this layer transposes, whose input x is the layer's top
// (N, K, Ho, Wo) and whose output y is the layer's bottom (N, C, H, W).
// Forward runs its backward-data, backward runs its forward (dx) and its
// backward-filter with x := dy and dy := x (dW), and the bias goes through
// cudnnAddTensor / cudnnConvolutionBackwardBias on the top's descriptor.
#include "layers/deconv.h"

#include <glog/logging.h>

#include <algorithm>

#include "cuda/check.h"
#include "cuda/memory.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

const float kOne = 1.0f;
const float kZero = 0.0f;

}  // namespace

Status DeconvolutionLayer::prepare_device(WorkerContext& ctx) {
  const GpuResources& gpu = ctx.gpu();
  cuda::DeviceGuard guard(gpu.ordinal());
  const ConvolutionConfig& c = config_.convolution;
  cuda::ConvGeometry g;
  g.N = num_;
  g.C = geom_.channels;  // the top's K
  g.H = geom_.height;
  g.W = geom_.width;
  g.K = in_channels_;  // the bottom's C
  g.R = c.kernel_h;
  g.S = c.kernel_w;
  g.pad_h = c.pad_h;
  g.pad_w = c.pad_w;
  g.stride_h = c.stride_h;
  g.stride_w = c.stride_w;
  g.dilation_h = c.dilation_h;
  g.dilation_w = c.dilation_w;
  g.groups = group_;
  g.type = cuda::DataType::kFloat32;
  g.layout = cuda::Layout::kNchw;
  g.allow_tf32 = gpu.options().allow_tf32;
  const Status built = plan_.build(gpu, g, g.C, name(), &algo_cache_);
  if (!built.ok()) {
    return built.code() == StatusCode::kInvalidArgument ? error(built.message()) : built;
  }
  gpu_workspace_floats_ = plan_.workspace_floats();
  return Status::success();
}

void DeconvolutionLayer::forward_gpu(const std::vector<Blob*>& bottom,
                                     const std::vector<Blob*>& top, WorkerContext& ctx) {
  CHECK(plan_.ready) << "layer " << name() << ": prepare_device did not run";
  const size_t ws_bytes = plan_.algos.backward_data_workspace;
  CHECK_GE(ctx.workspace_floats() * sizeof(float), ws_bytes) << "layer " << name();
  cudnnHandle_t handle = ctx.gpu().cudnn();
  const cuda::ConvDescriptors& d = plan_.desc;
  // top (N, K, Ho, Wo) = W^T (*) bottom (N, C, H, W), W (C, K/G, kh, kw)
  BANYAN_CUDNN_CHECK(cudnnConvolutionBackwardData(
      handle, &kOne, d.w.get(), params_[0].blob->data(), d.y.get(), bottom[0]->data(),
      plan_.backward_data.get(), plan_.algos.backward_data, ctx.workspace(), ws_bytes, &kZero,
      d.x.get(), top[0]->data()));
  if (params_.size() < 2) return;
  // top += b (1, K, 1, 1), broadcast over N, Ho, Wo
  BANYAN_CUDNN_CHECK(cudnnAddTensor(handle, &kOne, plan_.bias.get(), params_[1].blob->data(), &kOne,
                                    d.x.get(), top[0]->data()));
}

void DeconvolutionLayer::backward_gpu(const std::vector<Blob*>& top,
                                      const std::vector<bool>& propagate_down,
                                      const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  CHECK(plan_.ready) << "layer " << name() << ": prepare_device did not run";
  CHECK_GE(ctx.workspace_floats() * sizeof(float),
           std::max(plan_.algos.forward_workspace, plan_.algos.backward_filter_workspace))
      << "layer " << name();
  cudnnHandle_t handle = ctx.gpu().cudnn();
  const cuda::ConvDescriptors& d = plan_.desc;
  const float* dy = top[0]->diff();  // (N, K, Ho, Wo)
  if (params_.size() > 1) {
    // db (K) += sum of dy over N, Ho, Wo
    BANYAN_CUDNN_CHECK(cudnnConvolutionBackwardBias(handle, &kOne, d.x.get(), dy, &kOne,
                                                    plan_.bias.get(), params_[1].blob->diff()));
  }
  // dW (C, K/G, kh, kw) += dy (*) x: the filter gradient of the convolution
  // whose input is dy and whose output gradient is x
  BANYAN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
      handle, &kOne, d.x.get(), dy, d.y.get(), bottom[0]->data(), plan_.backward_filter.get(),
      plan_.algos.backward_filter, ctx.workspace(), plan_.algos.backward_filter_workspace, &kOne,
      d.w.get(), params_[0].blob->diff()));
  if (!propagate_down[0]) return;
  // dx (N, C, H, W) = conv(dy, W), overwritten
  BANYAN_CUDNN_CHECK(
      cudnnConvolutionForward(handle, &kOne, d.x.get(), dy, d.w.get(), params_[0].blob->data(),
                              d.conv.get(), plan_.algos.forward, ctx.workspace(),
                              plan_.algos.forward_workspace, &kZero, d.y.get(), bottom[0]->diff()));
}

}  // namespace banyan
