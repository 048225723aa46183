// GPU EuclideanLoss: a difference kernel, the deterministic sum of squares
// of cuda/reduce.h, and one thread writing the loss, all on the compute
// stream (no host sync); backward reads the loss weight on the device.
#include "layers/euclidean_loss.h"

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "cuda/reduce.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

__global__ void difference_kernel(int64_t n,
                                  const float* a,  // a (n)
                                  const float* b,  // b (n)
                                  float* d) {      // d = a - b (n)
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) d[i] = a[i] - b[i];
}

__global__ void loss_kernel(const double* sum, int64_t num, float* loss) {
  *loss = static_cast<float>(*sum / (2.0 * static_cast<double>(num)));
}

__global__ void scaled_kernel(int64_t n, float sign, int64_t num,
                              const float* top_diff,  // the loss weight (1)
                              const float* d,         // a - b (n)
                              float* dx) {            // (n)
  const float alpha = sign * *top_diff / static_cast<float>(num);
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) dx[i] = alpha * d[i];
}

}  // namespace

void EuclideanLossLayer::forward_gpu(const std::vector<Blob*>& bottom,
                                     const std::vector<Blob*>& top, WorkerContext& ctx) {
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "EuclideanLoss forward");
  const int64_t n = bottom[0]->count();
  float* d = static_cast<float*>(diff_.data());
  double* partials = static_cast<double*>(scratch_.data());
  if (n > 0) {
    difference_kernel<<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(n, bottom[0]->data(),
                                                                          bottom[1]->data(), d);
    BANYAN_CUDA_CHECK_LAUNCH();
  }
  cuda::sum_squares(n, d, partials, partials + cuda::kReducePartials, stream);
  loss_kernel<<<1, 1, 0, stream>>>(partials + cuda::kReducePartials, num_, top[0]->data());
  BANYAN_CUDA_CHECK_LAUNCH();
}

void EuclideanLossLayer::backward_gpu(const std::vector<Blob*>& top,
                                      const std::vector<bool>& propagate_down,
                                      const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "EuclideanLoss backward");
  const int64_t n = bottom[0]->count();
  if (n == 0) return;
  for (int i = 0; i < 2; ++i) {
    if (!propagate_down[i]) continue;
    scaled_kernel<<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(
        n, i == 0 ? 1.0f : -1.0f, num_, top[0]->diff(), static_cast<const float*>(diff_.data()),
        bottom[i]->diff());
    BANYAN_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace banyan
