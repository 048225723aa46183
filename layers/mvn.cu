// GPU MVN: one block per row reduces in double in a fixed tree
// (cuda::block_sum, deterministic) to the row's mean statistics, rounded to
// float as the CPU rounds them; elementwise kernels apply them.
#include "layers/mvn.h"

#include <climits>
#include <cmath>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

constexpr int kThreads = 256;

// Block r: out[r] = float(mean over row r of a (times b when given)), or,
// with `deviation`, sqrtf of that plus eps.
__global__ void row_mean_kernel(int64_t dim, bool deviation, float eps,
                                const float* a,  // a (rows, D)
                                const float* b,  // b (rows, D) or null
                                float* out) {    // out (rows)
  const int64_t r = blockIdx.x;
  const float* ar = a + r * dim;
  const float* br = b != nullptr ? b + r * dim : nullptr;
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < dim; i += kThreads) {
    const double v = ar[i];
    acc = __dadd_rn(acc, br != nullptr ? __dmul_rn(v, static_cast<double>(br[i])) : v);
  }
  const double sum = cuda::block_sum<kThreads>(acc);
  if (threadIdx.x != 0) return;
  const float mean = static_cast<float>(__ddiv_rn(sum, static_cast<double>(dim)));
  out[r] = deviation ? __fadd_rn(sqrtf(mean), eps) : mean;
}

// y = (x - mean[r] when given) / (deviation[r] when given).
__global__ void normalize_kernel(int64_t count, int64_t dim,
                                 const float* x,          // x (rows, D)
                                 const float* mean,       // (rows) or null
                                 const float* deviation,  // (rows) or null
                                 float* y) {              // y (rows, D), may be x
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t r = k / dim;
    const float v = mean != nullptr ? __fsub_rn(x[k], mean[r]) : x[k];
    y[k] = deviation != nullptr ? __fdiv_rn(v, deviation[r]) : v;
  }
}

// dx = (dy - (y mean_ydy + mean_dy)) / deviation, or dy - mean_dy without y.
__global__ void mvn_backward_kernel(int64_t count, int64_t dim,
                                    const float* y,          // y (rows, D) or null
                                    const float* dy,         // dy (rows, D)
                                    const float* mean_ydy,   // (rows)
                                    const float* mean_dy,    // (rows)
                                    const float* deviation,  // (rows)
                                    float* dx) {             // dx (rows, D)
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t r = k / dim;
    if (y == nullptr) {
      dx[k] = __fsub_rn(dy[k], mean_dy[r]);
    } else {
      const float centre = __fadd_rn(__fmul_rn(y[k], mean_ydy[r]), mean_dy[r]);
      dx[k] = __fdiv_rn(__fsub_rn(dy[k], centre), deviation[r]);
    }
  }
}

void row_means(int64_t rows, int64_t dim, bool deviation, float eps, const float* a, const float* b,
               float* out, cudaStream_t stream) {
  CHECK(rows > 0 && rows <= INT_MAX && dim > 0) << "MVN row_means: " << rows << " x " << dim;
  row_mean_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(dim, deviation, eps, a, b,
                                                                        out);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void MvnLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                           WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "MVN forward");
  if (rows_ == 0 || dim_ == 0) return;
  const int64_t count = rows_ * dim_;
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  row_means(rows_, dim_, false, 0.0f, x, nullptr, row_stat(kMean), stream);
  normalize_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      count, dim_, x, row_stat(kMean), nullptr, y);
  BANYAN_CUDA_CHECK_LAUNCH();
  if (!config_.mvn.normalize_variance) return;
  row_means(rows_, dim_, true, config_.mvn.eps, y, y, row_stat(kDeviation), stream);
  normalize_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(count, dim_, y, nullptr,
                                                                           row_stat(kDeviation), y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void MvnLayer::backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                            const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "MVN backward");
  if (!propagate_down[0] || rows_ == 0 || dim_ == 0) return;
  const int64_t count = rows_ * dim_;
  const bool normalize = config_.mvn.normalize_variance;
  const float* dy = top[0]->diff();
  row_means(rows_, dim_, false, 0.0f, dy, nullptr, row_stat(kMeanDy), stream);
  if (normalize) {
    row_means(rows_, dim_, false, 0.0f, top[0]->data(), dy, row_stat(kMeanYDy), stream);
  }
  mvn_backward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      count, dim_, normalize ? top[0]->data() : nullptr, dy, row_stat(kMeanYDy), row_stat(kMeanDy),
      row_stat(kDeviation), bottom[0]->diff());
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan
