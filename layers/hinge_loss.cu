// GPU HingeLoss: a margin kernel, the deterministic device total of
// layers/loss_util.h (sum, or sum of squares, over N), the gradient kernel.
// Nothing is read back to the host; an invalid label yields NaN.
#include "layers/hinge_loss.h"

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"
#include "layers/loss_util.cuh"
#include "layers/loss_util.h"

namespace banyan {
namespace {

__global__ void margins_kernel(int64_t count, int64_t classes,
                               const float* x,       // x (N, K)
                               const float* labels,  // labels (N)
                               float* m) {           // m (N, K)
  for (int64_t i = cuda::grid_start(); i < count; i += cuda::grid_stride()) {
    const int64_t n = i / classes, k = i - n * classes;
    const int64_t label = class_of(labels[n], classes);
    m[i] = label < 0 ? NAN : fmaxf(0.0f, __fadd_rn(1.0f, k == label ? -x[i] : x[i]));
  }
}

__global__ void hinge_backward_kernel(int64_t count, int64_t classes, int64_t num, bool squared,
                                      const float* labels,  // labels (N)
                                      const float* m,       // m (N, K)
                                      const float* dloss,   // loss weight (1)
                                      float* dx) {          // dx (N, K)
  const float scale = __fdiv_rn(dloss[0], static_cast<float>(num));
  for (int64_t i = cuda::grid_start(); i < count; i += cuda::grid_stride()) {
    const int64_t n = i / classes, k = i - n * classes;
    const int64_t label = class_of(labels[n], classes);
    const float g = squared ? __fmul_rn(2.0f, m[i]) : (m[i] > 0.0f ? 1.0f : 0.0f);
    dx[i] = label < 0 ? NAN : __fmul_rn(k == label ? -g : g, scale);
  }
}

}  // namespace

void HingeLossLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                 WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "HingeLoss forward");
  const int64_t count = num_ * classes_;
  float* m = static_cast<float*>(margins_.data());
  margins_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      count, classes_, bottom[0]->data(), bottom[1]->data(), m);
  BANYAN_CUDA_CHECK_LAUNCH();
  gpu_loss_total(count, m, squared(), nullptr, static_cast<double>(num_), gpu_scratch_.data(),
                 top[0]->data(), stream);
}

void HingeLossLayer::backward_gpu(const std::vector<Blob*>& top,
                                  const std::vector<bool>& propagate_down,
                                  const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "HingeLoss backward");
  const int64_t count = num_ * classes_;
  hinge_backward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      count, classes_, num_, squared(), bottom[1]->data(),
      static_cast<const float*>(margins_.data()), top[0]->diff(), bottom[0]->diff());
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan
