// GPU inverted dropout.  The keep test calls the same Philox functions as
// dropout.cc (engine/core/random.h is __host__ __device__ under nvcc) with the
// same key and counters, so the GPU drops exactly the CPU's units.  In place
// is safe: every thread reads its element before writing it.
#include "layers/dropout.h"

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "cuda/memory.h"
#include "engine/core/gpu_resources.h"
#include "engine/core/random.h"

namespace banyan {
namespace {

// Element j of sample n is kept iff uniform_at(key, sample_base + n, j) >= p.
__global__ void dropout_forward_kernel(int64_t num, int64_t per_sample, uint64_t key,
                                       uint64_t sample_base, float p, float scale,
                                       const float* x,   // x (num, per_sample)
                                       float* y,         // y (num, per_sample), may alias x
                                       uint8_t* mask) {  // mask (num, per_sample)
  const int64_t count = num * per_sample;
  for (int64_t i = cuda::grid_start(); i < count; i += cuda::grid_stride()) {
    const int64_t n = i / per_sample, j = i - n * per_sample;
    const bool keep =
        uniform_at(key, sample_base + static_cast<uint64_t>(n), static_cast<uint64_t>(j)) >= p;
    mask[i] = keep ? 1 : 0;
    y[i] = keep ? __fmul_rn(x[i], scale) : 0.0f;
  }
}

__global__ void dropout_backward_kernel(int64_t count, float scale,
                                        const uint8_t* mask,  // mask (count)
                                        const float* dy,      // dy (count)
                                        float* dx) {          // dx (count), may alias dy
  for (int64_t i = cuda::grid_start(); i < count; i += cuda::grid_stride()) {
    dx[i] = mask[i] != 0 ? __fmul_rn(dy[i], scale) : 0.0f;
  }
}

void dropout_forward(int64_t num, int64_t per_sample, uint64_t key, uint64_t sample_base, float p,
                     float scale, const float* x, float* y, uint8_t* mask, cudaStream_t stream) {
  CHECK(num >= 0 && per_sample >= 0) << "dropout_forward: shape " << num << " x " << per_sample;
  cuda::check_stream(stream, "dropout_forward");
  const int64_t count = num * per_sample;
  if (count == 0) return;
  CHECK(x != nullptr && y != nullptr && mask != nullptr) << "dropout_forward: null pointer";
  dropout_forward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      num, per_sample, key, sample_base, p, scale, x, y, mask);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void dropout_backward(int64_t count, float scale, const uint8_t* mask, const float* dy, float* dx,
                      cudaStream_t stream) {
  CHECK_GE(count, 0) << "dropout_backward";
  cuda::check_stream(stream, "dropout_backward");
  if (count == 0) return;
  CHECK(mask != nullptr && dy != nullptr && dx != nullptr) << "dropout_backward: null pointer";
  dropout_backward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(count, scale,
                                                                                  mask, dy, dx);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void DropoutLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                               WorkerContext& ctx) {
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  const int64_t count = bottom[0]->count();
  cudaStream_t stream = ctx.gpu().compute();
  last_forward_train_ = ctx.step().phase == Phase::kTrain;
  if (!last_forward_train_) {
    if (y != x) cuda::copy_async(y, x, static_cast<size_t>(count) * sizeof(float), stream);
    return;
  }
  const float p = config_.dropout.dropout_ratio;
  dropout_forward(bottom[0]->dim(0), bottom[0]->shape().count(1), key_for(ctx.seed(), name()),
                  static_cast<uint64_t>(ctx.step().sample_base), p, 1.0f / (1.0f - p), x, y,
                  static_cast<uint8_t*>(mask_.data()), stream);
}

void DropoutLayer::backward_gpu(const std::vector<Blob*>& top,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  const float* dy = top[0]->diff();
  float* dx = bottom[0]->diff();
  const int64_t count = bottom[0]->count();
  cudaStream_t stream = ctx.gpu().compute();
  if (!last_forward_train_) {
    if (dx != dy) cuda::copy_async(dx, dy, static_cast<size_t>(count) * sizeof(float), stream);
    return;
  }
  dropout_backward(count, 1.0f / (1.0f - config_.dropout.dropout_ratio),
                   static_cast<const uint8_t*>(mask_.data()), dy, dx, stream);
}

}  // namespace banyan
