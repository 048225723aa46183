// GPU PReLU: elementwise forward and dx kernels, the slope gradient as the
// deterministic per-slice sums of layers/slice_ops.h over dy min(x, 0)
// (written to the workspace first); in place, x is copied on the stream.
#include "layers/prelu.h"

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "cuda/memory.h"
#include "engine/core/gpu_resources.h"
#include "layers/slice_ops.h"

namespace banyan {
namespace {

__device__ __forceinline__ int64_t slope_index(int64_t k, int64_t channels, int64_t inner,
                                               bool shared) {
  return shared ? 0 : (k / inner) % channels;
}

__global__ void prelu_forward_kernel(int64_t count, int64_t channels, int64_t inner, bool shared,
                                     const float* x,  // x (N, C, inner)
                                     const float* a,  // slopes (C) or (1)
                                     float* y) {      // y (N, C, inner)
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const float v = x[k];
    y[k] = v > 0.0f ? v : __fmul_rn(a[slope_index(k, channels, inner, shared)], v);
  }
}

__global__ void negative_products_kernel(int64_t count,
                                         const float* x,   // x (count)
                                         const float* dy,  // dy (count)
                                         float* t) {       // t = dy min(x, 0) (count)
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    t[k] = __fmul_rn(dy[k], fminf(x[k], 0.0f));
  }
}

__global__ void prelu_backward_kernel(int64_t count, int64_t channels, int64_t inner, bool shared,
                                      const float* x,   // x (N, C, inner)
                                      const float* a,   // slopes (C) or (1)
                                      const float* dy,  // dy (N, C, inner)
                                      float* dx) {      // dx (N, C, inner), may be dy
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const float g = dy[k];
    dx[k] = x[k] > 0.0f ? g : __fmul_rn(g, a[slope_index(k, channels, inner, shared)]);
  }
}

}  // namespace

void PReluLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                             WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "PReLU forward");
  if (count_ == 0) return;
  const float* x = bottom[0]->data();
  if (bottom[0] == top[0]) {
    cuda::copy_async(const_cast<float*>(input(bottom, top)), x,
                     static_cast<size_t>(count_) * sizeof(float), stream);
  }
  prelu_forward_kernel<<<cuda::grid_for(count_), cuda::kBlockSize, 0, stream>>>(
      count_, channels_, inner_, shared(), x, params_[0].blob->data(), top[0]->data());
  BANYAN_CUDA_CHECK_LAUNCH();
}

void PReluLayer::backward_gpu(const std::vector<Blob*>& top,
                              const std::vector<bool>& propagate_down,
                              const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "PReLU backward");
  if (count_ == 0) return;
  const float* x = input(bottom, top);
  const float* dy = top[0]->diff();
  float* t = ctx.workspace();
  negative_products_kernel<<<cuda::grid_for(count_), cuda::kBlockSize, 0, stream>>>(count_, x, dy,
                                                                                    t);
  BANYAN_CUDA_CHECK_LAUNCH();
  slice_sums_gpu(sum_outer(), sum_dim(), sum_inner(), t, nullptr, gpu_scratch_.data(), nullptr,
                 params_[0].blob->diff(), stream);
  if (!propagate_down[0]) return;
  prelu_backward_kernel<<<cuda::grid_for(count_), cuda::kBlockSize, 0, stream>>>(
      count_, channels_, inner_, shared(), x, params_[0].blob->data(), dy, bottom[0]->diff());
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan
