// Building the cuDNN convolution plan (conv_cudnn.h): descriptors, then the
// three algorithms measured on temporary device buffers once (or fixed ones
// under GpuOptions::deterministic), then each direction's workspace sized
// from cuDNN's query for the math type it runs with.
#include "layers/conv_cudnn.h"

#include <glog/logging.h>

#include <string>

#include "cuda/check.h"
#include "cuda/memory.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

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

Status CudnnConvPlan::settle(const GpuResources& gpu, bool allow_tf32, cuda::ConvAlgos* algos) {
  desc.conv.set_math_type(math_for(algos->forward_math, allow_tf32));
  backward_data.set_math_type(math_for(algos->backward_data_math, allow_tf32));
  backward_filter.set_math_type(math_for(algos->backward_filter_math, allow_tf32));
  std::string e;
  if (!cuda::settle_conv_workspaces(gpu.cudnn(), desc, backward_data, backward_filter, algos, &e)) {
    return Status::invalid_argument("cuDNN algorithms " + std::to_string(algos->forward) + "/" +
                                    std::to_string(algos->backward_data) + "/" +
                                    std::to_string(algos->backward_filter) +
                                    " with their math types: " + e);
  }
  return Status::success();
}

Status CudnnConvPlan::build(const GpuResources& gpu, const cuda::ConvGeometry& g, int bias_channels,
                            const std::string& layer, cuda::ConvAlgoCache* cache) {
  if (std::string e = g.validate(); !e.empty()) return Status::invalid_argument(e);
  desc.set(g);  // CHECKs that cuDNN's output size is the layer's
  for (cuda::ConvDesc* d : {&backward_data, &backward_filter}) {
    d->set(g.pad_h, g.pad_w, g.stride_h, g.stride_w, g.dilation_h, g.dilation_w, g.groups, g.type,
           g.allow_tf32);
  }
  cuda::ConvAlgos chosen;
  std::string e;
  const size_t limit = cache->workspace_limit();
  if (gpu.options().deterministic) {
    // The same algorithms for every batch size and run, chosen without timing.
    if (!cuda::choose_fixed_conv_algos(gpu.cudnn(), desc, limit, &chosen, &e)) {
      return Status::invalid_argument(e);
    }
  } else {
    MeasureBuffers b;
    e = allocate_measure_buffers(g, gpu.ordinal(), limit, gpu.compute(), &b);
    if (!e.empty()) {
      return Status::resource_exhausted("layer '" + layer +
                                        "': cannot measure cuDNN convolution algorithms: " + e);
    }
    const cuda::ConvScratch scratch{b.x.data(),         b.w.data(),  b.y.data(),
                                    b.dx.data(),        b.dw.data(), b.workspace.data(),
                                    b.workspace.bytes()};
    if (!cache->choose(gpu.cudnn(), g, scratch, &chosen, &e)) return Status::invalid_argument(e);
  }
  // The workspace each algorithm needs with the math type it runs with (the
  // measured size was for the math type it was measured with).
  BANYAN_RETURN_IF_ERROR(settle(gpu, g.allow_tf32, &chosen));
  if (chosen.max_workspace() > limit && !gpu.options().deterministic) {
    // The math type it runs with needs more than the measurement allowed:
    // the fixed algorithms, which fit by construction.
    LOG(WARNING) << "layer '" << layer << "': the measured cuDNN algorithms need "
                 << chosen.max_workspace() << " bytes of workspace with their math types, over "
                 << limit << "; using the fixed ones";
    if (!cuda::choose_fixed_conv_algos(gpu.cudnn(), desc, limit, &chosen, &e)) {
      return Status::invalid_argument(e);
    }
    BANYAN_RETURN_IF_ERROR(settle(gpu, g.allow_tf32, &chosen));
  }
  bias.set(g.layout, g.type, 1, bias_channels, 1, 1);
  algos = chosen;
  ready = true;
  return Status::success();
}

size_t CudnnConvPlan::workspace_floats() const {
  return (algos.max_workspace() + sizeof(float) - 1) / sizeof(float);
}

}  // namespace banyan
