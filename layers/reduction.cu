// GPU Reduction: one block per row (grid-stride over rows), each thread
// accumulating a strided share of the row in double, then a fixed-order
// tree in shared memory: deterministic, no atomics.  Backward is one
// thread per bottom element.
#include "layers/reduction.h"

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

constexpr int kThreads = cuda::kBlockSize;
using Op = ReductionConfig::Op;

__device__ double op_value(Op op, float v) {
  if (op == Op::kAsum) return v < 0.0f ? -static_cast<double>(v) : static_cast<double>(v);
  if (op == Op::kSumSq) return __dmul_rn(static_cast<double>(v), static_cast<double>(v));
  return static_cast<double>(v);
}

__global__ void reduction_forward_kernel(Op op, int64_t num, int64_t dim, double scale,
                                         const float* x,  // (num, dim)
                                         float* y) {      // (num)
  __shared__ double partial[kThreads];
  for (int64_t r = blockIdx.x; r < num; r += gridDim.x) {
    const float* row = x + r * dim;
    double sum = 0.0;
    for (int64_t i = threadIdx.x; i < dim; i += kThreads)
      sum = __dadd_rn(sum, op_value(op, row[i]));
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int stride = kThreads / 2; stride > 0; stride /= 2) {
      if (static_cast<int>(threadIdx.x) < stride) {
        partial[threadIdx.x] = __dadd_rn(partial[threadIdx.x], partial[threadIdx.x + stride]);
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) y[r] = static_cast<float>(__dmul_rn(partial[0], scale));
    __syncthreads();  // partial is rewritten for the next row
  }
}

__global__ void reduction_backward_kernel(Op op, int64_t num, int64_t dim, float scale,
                                          const float* x,   // (num, dim)
                                          const float* dy,  // (num)
                                          float* dx) {      // (num, dim)
  const int64_t count = num * dim;
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const float g = __fmul_rn(scale, dy[k / dim]);
    const float v = x[k];
    if (op == Op::kAsum) {
      dx[k] = v > 0.0f ? g : v < 0.0f ? -g : 0.0f;
    } else if (op == Op::kSumSq) {
      dx[k] = __fmul_rn(__fmul_rn(2.0f, g), v);
    } else {
      dx[k] = g;
    }
  }
}

}  // namespace

void ReductionLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                 WorkerContext& ctx) {
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "Reduction forward");
  if (num_ == 0) return;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(num_, cuda::kMaxBlocks));
  reduction_forward_kernel<<<blocks, kThreads, 0, stream>>>(config_.reduction.operation, num_, dim_,
                                                            static_cast<double>(scale_),
                                                            bottom[0]->data(), top[0]->data());
  BANYAN_CUDA_CHECK_LAUNCH();
}

void ReductionLayer::backward_gpu(const std::vector<Blob*>& top,
                                  const std::vector<bool>& propagate_down,
                                  const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "Reduction backward");
  const int64_t count = num_ * dim_;
  if (count == 0) return;
  reduction_backward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      config_.reduction.operation, num_, dim_, scale_, bottom[0]->data(), top[0]->diff(),
      bottom[0]->diff());
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan
