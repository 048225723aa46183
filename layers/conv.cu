// GPU Convolution on cuDNN (legacy API, NCHW, FP32): prepare_device builds the
// descriptors and measures the three algorithms once (or takes fixed ones
// under GpuOptions::deterministic), then sizes the workspace from cuDNN's
// query for each algorithm with the math type it runs with; forward and
// backward only execute them on the worker's compute stream with the shared
// workspace.
// Bias: cudnnAddTensor forward, cudnnConvolutionBackwardBias backward.
#include "layers/conv.h"

#include <glog/logging.h>

#include <algorithm>
#include <string>

#include "cuda/check.h"
#include "cuda/memory.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

const float kOne = 1.0f;
const float kZero = 0.0f;

// Temporary device buffers for measuring the algorithms.
struct MeasureBuffers {
  cuda::DeviceBuffer x, w, y, dx, dw, workspace;
};

// Allocates and zeroes the tensors of `g` on `device` (ordered on `stream`),
// and as much workspace as the device gives, up to `limit` bytes (halving
// down to 1 MiB, then none).  "" or the allocation error.
std::string allocate_measure_buffers(const cuda::ConvGeometry& g, int device, size_t limit,
                                     cudaStream_t stream, MeasureBuffers* b) {
  const size_t f = sizeof(float);
  const size_t x_bytes = static_cast<size_t>(g.N) * g.C * g.H * g.W * f;
  const size_t w_bytes = static_cast<size_t>(g.K) * (g.C / g.groups) * g.R * g.S * f;
  const size_t y_bytes = static_cast<size_t>(g.N) * g.K * g.out_h() * g.out_w() * f;
  std::string e;
  if (!b->x.allocate(device, x_bytes, &e) || !b->w.allocate(device, w_bytes, &e) ||
      !b->y.allocate(device, y_bytes, &e) || !b->dx.allocate(device, x_bytes, &e) ||
      !b->dw.allocate(device, w_bytes, &e)) {
    return e;
  }
  for (cuda::DeviceBuffer* t : {&b->x, &b->w, &b->y}) t->zero_async(stream);
  for (size_t bytes = limit; bytes >= (size_t{1} << 20); bytes /= 2) {
    if (b->workspace.allocate(device, bytes, nullptr)) break;
  }
  return "";
}

// The math type to run an algorithm with: what cuDNN measured it with, but
// never TF32 when the worker forbids it (CUDNN_FMA_MATH excludes tensor
// cores), and never a down-conversion of FP32 data to FP16
// (ALLOW_CONVERSION), which would lose precision silently.
cudnnMathType_t math_for(cudnnMathType_t measured, bool allow_tf32) {
  if (!allow_tf32) return CUDNN_FMA_MATH;
  return measured == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION ? CUDNN_DEFAULT_MATH : measured;
}

}  // namespace

Status ConvolutionLayer::settle(const GpuResources& gpu, bool allow_tf32, cuda::ConvAlgos* algos) {
  plan_.desc.conv.set_math_type(math_for(algos->forward_math, allow_tf32));
  plan_.backward_data.set_math_type(math_for(algos->backward_data_math, allow_tf32));
  plan_.backward_filter.set_math_type(math_for(algos->backward_filter_math, allow_tf32));
  std::string e;
  if (!cuda::settle_conv_workspaces(gpu.cudnn(), plan_.desc, plan_.backward_data,
                                    plan_.backward_filter, algos, &e)) {
    return error("cuDNN algorithms " + std::to_string(algos->forward) + "/" +
                 std::to_string(algos->backward_data) + "/" +
                 std::to_string(algos->backward_filter) + " with their math types: " + e);
  }
  return Status::success();
}

Status ConvolutionLayer::prepare_device(WorkerContext& ctx) {
  const GpuResources& gpu = ctx.gpu();
  cuda::DeviceGuard guard(gpu.ordinal());
  const ConvolutionConfig& c = config_.convolution;
  cuda::ConvGeometry g;
  g.N = num_;
  g.C = geom_.channels;
  g.H = geom_.height;
  g.W = geom_.width;
  g.K = out_channels_;
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
  if (std::string e = g.validate(); !e.empty()) return error(e);

  plan_.desc.set(g);  // CHECKs that cuDNN's output size is the layer's
  for (cuda::ConvDesc* d : {&plan_.backward_data, &plan_.backward_filter}) {
    d->set(g.pad_h, g.pad_w, g.stride_h, g.stride_w, g.dilation_h, g.dilation_w, g.groups, g.type,
           g.allow_tf32);
  }
  cuda::ConvAlgos algos;
  std::string e;
  if (gpu.options().deterministic) {
    // The same algorithms for every batch size and run, chosen without timing.
    if (!cuda::choose_fixed_conv_algos(gpu.cudnn(), plan_.desc, algo_cache_.workspace_limit(),
                                       &algos, &e)) {
      return error(e);
    }
  } else {
    MeasureBuffers b;
    e = allocate_measure_buffers(g, gpu.ordinal(), algo_cache_.workspace_limit(), gpu.compute(),
                                 &b);
    if (!e.empty()) {
      return Status::resource_exhausted("layer '" + name() +
                                        "': cannot measure cuDNN convolution algorithms: " + e);
    }
    const cuda::ConvScratch scratch{b.x.data(),         b.w.data(),  b.y.data(),
                                    b.dx.data(),        b.dw.data(), b.workspace.data(),
                                    b.workspace.bytes()};
    if (!algo_cache_.choose(gpu.cudnn(), g, scratch, &algos, &e)) return error(e);
  }
  // The workspace each algorithm needs with the math type it runs with (the
  // measured size was for the math type it was measured with).
  BANYAN_RETURN_IF_ERROR(settle(gpu, g.allow_tf32, &algos));
  const size_t limit = algo_cache_.workspace_limit();
  if (algos.max_workspace() > limit && !gpu.options().deterministic) {
    // The math type it runs with needs more than the measurement allowed:
    // the fixed algorithms, which fit by construction.
    LOG(WARNING) << "layer '" << name() << "': the measured cuDNN algorithms need "
                 << algos.max_workspace() << " bytes of workspace with their math types, over "
                 << limit << "; using the fixed ones";
    if (!cuda::choose_fixed_conv_algos(gpu.cudnn(), plan_.desc, limit, &algos, &e)) {
      return error(e);
    }
    BANYAN_RETURN_IF_ERROR(settle(gpu, g.allow_tf32, &algos));
  }
  plan_.bias.set(g.layout, g.type, 1, g.K, 1, 1);
  plan_.algos = algos;
  plan_.ready = true;
  gpu_workspace_floats_ = (algos.max_workspace() + sizeof(float) - 1) / sizeof(float);
  return Status::success();
}

void ConvolutionLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                   WorkerContext& ctx) {
  CHECK(plan_.ready) << "layer " << name() << ": prepare_device did not run";
  const size_t ws_bytes = plan_.algos.forward_workspace;
  CHECK_GE(ctx.workspace_floats() * sizeof(float), ws_bytes) << "layer " << name();
  cudnnHandle_t handle = ctx.gpu().cudnn();
  const cuda::ConvDescriptors& d = plan_.desc;
  // y (N, K, Ho, Wo) = conv(x (N, C, H, W), W (K, C/G, kh, kw))
  BANYAN_CUDNN_CHECK(cudnnConvolutionForward(
      handle, &kOne, d.x.get(), bottom[0]->data(), d.w.get(), params_[0].blob->data(), d.conv.get(),
      plan_.algos.forward, ctx.workspace(), ws_bytes, &kZero, d.y.get(), top[0]->data()));
  if (params_.size() < 2) return;
  // y += b (1, K, 1, 1), broadcast over N, Ho, Wo
  BANYAN_CUDNN_CHECK(cudnnAddTensor(handle, &kOne, plan_.bias.get(), params_[1].blob->data(), &kOne,
                                    d.y.get(), top[0]->data()));
}

void ConvolutionLayer::backward_gpu(const std::vector<Blob*>& top,
                                    const std::vector<bool>& propagate_down,
                                    const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  CHECK(plan_.ready) << "layer " << name() << ": prepare_device did not run";
  CHECK_GE(ctx.workspace_floats() * sizeof(float),
           std::max(plan_.algos.backward_data_workspace, plan_.algos.backward_filter_workspace))
      << "layer " << name();
  cudnnHandle_t handle = ctx.gpu().cudnn();
  const cuda::ConvDescriptors& d = plan_.desc;
  const float* dy = top[0]->diff();  // (N, K, Ho, Wo)
  if (params_.size() > 1) {
    // db (K) += sum of dy over N, Ho, Wo
    BANYAN_CUDNN_CHECK(cudnnConvolutionBackwardBias(handle, &kOne, d.y.get(), dy, &kOne,
                                                    plan_.bias.get(), params_[1].blob->diff()));
  }
  // dW (K, C/G, kh, kw) += x (*) dy
  BANYAN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
      handle, &kOne, d.x.get(), bottom[0]->data(), d.y.get(), dy, plan_.backward_filter.get(),
      plan_.algos.backward_filter, ctx.workspace(), plan_.algos.backward_filter_workspace, &kOne,
      d.w.get(), params_[0].blob->diff()));
  if (!propagate_down[0]) return;
  // dx (N, C, H, W) = W^T (*) dy, overwritten
  BANYAN_CUDNN_CHECK(cudnnConvolutionBackwardData(
      handle, &kOne, d.w.get(), params_[0].blob->data(), d.y.get(), dy, plan_.backward_data.get(),
      plan_.algos.backward_data, ctx.workspace(), plan_.algos.backward_data_workspace, &kZero,
      d.x.get(), bottom[0]->diff()));
}

}  // namespace banyan
