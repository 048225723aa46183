// GPU ReLU: one elementwise kernel each way with the comparisons of relu.cc,
// so results equal the CPU's bit for bit.  In place is safe: every thread
// reads its element before writing it (no __restrict__ on purpose).
#include "layers/relu.h"

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

__global__ void relu_forward_kernel(int64_t n, float slope,
                                    const float* x,  // x (n)
                                    float* y) {      // y (n), may alias x
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    const float v = x[i];
    y[i] = v > 0.0f ? v : __fmul_rn(slope, v);
  }
}

// x is the bottom (or, in place, the output: same sign for slope >= 0).
__global__ void relu_backward_kernel(int64_t n, float slope,
                                     const float* x,   // x (n)
                                     const float* dy,  // dy (n)
                                     float* dx) {      // dx (n), may alias dy
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    const float g = dy[i];
    dx[i] = x[i] > 0.0f ? g : __fmul_rn(slope, g);
  }
}

void relu_forward(int64_t n, float slope, const float* x, float* y, cudaStream_t stream) {
  CHECK_GE(n, 0) << "relu_forward";
  cuda::check_stream(stream, "relu_forward");
  if (n == 0) return;
  CHECK(x != nullptr && y != nullptr) << "relu_forward: null pointer for " << n << " elements";
  relu_forward_kernel<<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(n, slope, x, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void relu_backward(int64_t n, float slope, const float* x, const float* dy, float* dx,
                   cudaStream_t stream) {
  CHECK_GE(n, 0) << "relu_backward";
  cuda::check_stream(stream, "relu_backward");
  if (n == 0) return;
  CHECK(x != nullptr && dy != nullptr && dx != nullptr)
      << "relu_backward: null pointer for " << n << " elements";
  relu_backward_kernel<<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(n, slope, x, dy, dx);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void ReluLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                            WorkerContext& ctx) {
  relu_forward(bottom[0]->count(), config_.relu.negative_slope, bottom[0]->data(), top[0]->data(),
               ctx.gpu().compute());
}

void ReluLayer::backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                             const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  relu_backward(bottom[0]->count(), config_.relu.negative_slope, bottom[0]->data(), top[0]->diff(),
                bottom[0]->diff(), ctx.gpu().compute());
}

}  // namespace banyan
