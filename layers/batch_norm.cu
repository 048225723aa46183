// GPU BatchNorm with batch_norm.cc's arithmetic.  Per-channel sums run in
// double on a fixed grid (a number of blocks per channel chosen from the
// shape alone), each block summing in a fixed tree and the block partials
// added in order: no atomics, so results are bitwise the same run to run.
// Float and double steps use non-contracted intrinsics where the CPU rounds.
#include "layers/batch_norm.h"

#include <algorithm>
#include <climits>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

constexpr int kThreads = 256;  // per block of the per-channel reductions
constexpr int kMaxParts = 32;  // blocks per channel, at most
constexpr int64_t kElementsPerThread = 16;

// Blocks per channel for m elements per channel: a pure function of the
// shape, so the summation order never depends on the device.
int parts_for(int64_t m) {
  const int64_t per_block = kThreads * kElementsPerThread;
  return static_cast<int>(std::clamp<int64_t>((m + per_block - 1) / per_block, 1, kMaxParts));
}

// gpu_scratch_, carved up.
struct Scratch {
  double2* partials;    // (C, parts)
  double* mu;           // (C) batch mean in double
  float* mean_dy;       // (C) backward: mean of dy
  float* mean_dy_xhat;  // (C) backward: mean of dy * xhat (right after mean_dy)
};

size_t scratch_bytes(int64_t channels, int parts) {
  const size_t c = static_cast<size_t>(channels);
  return c * parts * sizeof(double2) + c * sizeof(double) + 2 * c * sizeof(float);
}

Scratch scratch_of(void* base, int64_t channels, int parts) {
  Scratch s;
  s.partials = static_cast<double2*>(base);
  s.mu = reinterpret_cast<double*>(s.partials + channels * parts);
  s.mean_dy = reinterpret_cast<float*>(s.mu + channels);
  s.mean_dy_xhat = s.mean_dy + channels;
  return s;
}

// Sum over the kThreads threads of the block in a fixed tree; thread 0 gets
// the result.  Once per kernel.
__device__ double2 block_sum2(double2 v) {
  __shared__ double2 partial[kThreads];
  partial[threadIdx.x] = v;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) {
      partial[threadIdx.x].x = __dadd_rn(partial[threadIdx.x].x, partial[threadIdx.x + stride].x);
      partial[threadIdx.x].y = __dadd_rn(partial[threadIdx.x].y, partial[threadIdx.x + stride].y);
    }
    __syncthreads();
  }
  return partial[0];
}

// The terms summed per channel; k indexes (N, C, spatial), c is the channel.
struct SumX {
  const float* x;
  __device__ double2 operator()(int64_t k, int64_t /*c*/) const { return make_double2(x[k], 0.0); }
};

struct SumSquaredDeviation {
  const float* x;
  const double* mu;
  __device__ double2 operator()(int64_t k, int64_t c) const {
    const double d = __dsub_rn(static_cast<double>(x[k]), mu[c]);
    return make_double2(__dmul_rn(d, d), 0.0);
  }
};

struct SumDyAndDyXhat {
  const float* x;
  const float* dy;
  const float* mean;
  const float* inv_std;
  __device__ double2 operator()(int64_t k, int64_t c) const {
    const float xhat = __fmul_rn(__fsub_rn(x[k], mean[c]), inv_std[c]);
    return make_double2(dy[k], __dmul_rn(static_cast<double>(dy[k]), static_cast<double>(xhat)));
  }
};

// Grid (C, parts): block (c, p) sums term over elements p*kThreads + t,
// stepping by parts*kThreads, of channel c's num * spatial elements.
template <typename Term>
__global__ void channel_partials_kernel(int64_t num, int64_t channels, int64_t spatial, Term term,
                                        double2* partials) {  // partials (C, parts)
  const int64_t c = blockIdx.x, parts = gridDim.y, m = num * spatial;
  double2 acc = make_double2(0.0, 0.0);
  for (int64_t j = static_cast<int64_t>(blockIdx.y) * kThreads + threadIdx.x; j < m;
       j += parts * kThreads) {
    const int64_t n = j / spatial, i = j - n * spatial;
    const double2 v = term((n * channels + c) * spatial + i, c);
    acc.x = __dadd_rn(acc.x, v.x);
    acc.y = __dadd_rn(acc.y, v.y);
  }
  const double2 total = block_sum2(acc);
  if (threadIdx.x == 0) partials[c * parts + blockIdx.y] = total;
}

// Channel c's total: its partials added in order.
__device__ double2 channel_total(const double2* partials, int parts, int64_t c) {
  double2 s = make_double2(0.0, 0.0);
  for (int p = 0; p < parts; ++p) {
    s.x = __dadd_rn(s.x, partials[c * parts + p].x);
    s.y = __dadd_rn(s.y, partials[c * parts + p].y);
  }
  return s;
}

__global__ void mean_kernel(int64_t channels, int parts, int64_t m, const double2* partials,
                            double* mu) {  // mu (C)
  for (int64_t c = cuda::grid_start(); c < channels; c += cuda::grid_stride()) {
    mu[c] = m > 0 ? __ddiv_rn(channel_total(partials, parts, c).x, static_cast<double>(m)) : 0.0;
  }
}

// Batch variance, then the outputs for normalisation and Caffe's running update.
__global__ void variance_kernel(int64_t channels, int parts, int64_t m, double correction,
                                float eps, float maf, const double2* partials, const double* mu,
                                float* mean, float* inv_std,  // (C) each
                                float* mean_blob, float* var_blob, float* factor) {
  for (int64_t c = cuda::grid_start(); c < channels; c += cuda::grid_stride()) {
    const double sq = channel_total(partials, parts, c).x;
    const double var = m > 0 ? __ddiv_rn(sq, static_cast<double>(m)) : 0.0;
    mean[c] = static_cast<float>(mu[c]);
    inv_std[c] =
        static_cast<float>(__ddiv_rn(1.0, __dsqrt_rn(__dadd_rn(var, static_cast<double>(eps)))));
    mean_blob[c] =
        static_cast<float>(__dadd_rn(static_cast<double>(__fmul_rn(mean_blob[c], maf)), mu[c]));
    var_blob[c] = static_cast<float>(
        __dadd_rn(static_cast<double>(__fmul_rn(var_blob[c], maf)), __dmul_rn(correction, var)));
    if (c == 0) factor[0] = __fadd_rn(__fmul_rn(factor[0], maf), 1.0f);
  }
}

__global__ void global_stats_kernel(int64_t channels, float eps, const float* mean_blob,
                                    const float* var_blob, const float* factor, float* mean,
                                    float* inv_std) {  // (C) each
  const float s = factor[0];
  const float scale = s == 0.0f ? 1.0f : __fdiv_rn(1.0f, s);
  for (int64_t c = cuda::grid_start(); c < channels; c += cuda::grid_stride()) {
    mean[c] = __fmul_rn(mean_blob[c], scale);
    inv_std[c] = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(__fmul_rn(var_blob[c], scale), eps)));
  }
}

__global__ void normalize_kernel(int64_t count, int64_t channels, int64_t spatial,
                                 const float* x,  // x (N, C, spatial)
                                 const float* mean, const float* inv_std,
                                 float* y) {  // y (N, C, spatial)
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t c = (k / spatial) % channels;
    y[k] = __fmul_rn(__fsub_rn(x[k], mean[c]), inv_std[c]);
  }
}

__global__ void backward_means_kernel(int64_t channels, int parts, int64_t m,
                                      const double2* partials, float* mean_dy,
                                      float* mean_dy_xhat) {  // (C) each
  for (int64_t c = cuda::grid_start(); c < channels; c += cuda::grid_stride()) {
    const double2 t = channel_total(partials, parts, c);
    const double dm = static_cast<double>(m);
    mean_dy[c] = m > 0 ? static_cast<float>(__ddiv_rn(t.x, dm)) : 0.0f;
    mean_dy_xhat[c] = m > 0 ? static_cast<float>(__ddiv_rn(t.y, dm)) : 0.0f;
  }
}

// dx = inv_std * (dy - mean_dy - xhat * mean_dy_xhat) (both means 0 for
// global statistics).
__global__ void backward_kernel(int64_t count, int64_t channels, int64_t spatial, const float* x,
                                const float* dy,  // (N, C, spatial) each
                                const float* mean, const float* inv_std, const float* mean_dy,
                                const float* mean_dy_xhat,
                                float* dx) {  // dx (N, C, spatial)
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t c = (k / spatial) % channels;
    const float is = inv_std[c];
    const float xhat = __fmul_rn(__fsub_rn(x[k], mean[c]), is);
    dx[k] =
        __fmul_rn(is, __fsub_rn(__fsub_rn(dy[k], mean_dy[c]), __fmul_rn(xhat, mean_dy_xhat[c])));
  }
}

// Checks shared by the launchers below.
void check_args(int64_t num, int64_t channels, int64_t spatial, cudaStream_t stream,
                const char* op) {
  CHECK(num >= 0 && channels >= 0 && channels <= INT_MAX && spatial >= 0)
      << op << ": shape " << num << " x " << channels << " x " << spatial;
  cuda::check_stream(stream, op);
}

template <typename Term>
void bn_channel_partials(int64_t num, int64_t channels, int64_t spatial, const Term& term,
                         double2* partials, cudaStream_t stream) {
  check_args(num, channels, spatial, stream, "bn_channel_partials");
  if (channels == 0) return;
  CHECK(partials != nullptr) << "bn_channel_partials: null partials";
  const dim3 grid(static_cast<unsigned>(channels), parts_for(num * spatial));
  channel_partials_kernel<Term>
      <<<grid, kThreads, 0, stream>>>(num, channels, spatial, term, partials);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void bn_mean(int64_t channels, int64_t m, const double2* partials, double* mu,
             cudaStream_t stream) {
  check_args(m, channels, 1, stream, "bn_mean");
  if (channels == 0) return;
  CHECK(partials != nullptr && mu != nullptr) << "bn_mean: null pointer";
  mean_kernel<<<cuda::grid_for(channels), cuda::kBlockSize, 0, stream>>>(channels, parts_for(m), m,
                                                                         partials, mu);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void bn_variance(int64_t channels, int64_t m, float eps, float maf, const double2* partials,
                 const double* mu, float* mean, float* inv_std, float* mean_blob, float* var_blob,
                 float* factor, cudaStream_t stream) {
  check_args(m, channels, 1, stream, "bn_variance");
  if (channels == 0) return;
  CHECK(partials != nullptr && mu != nullptr && mean != nullptr && inv_std != nullptr &&
        mean_blob != nullptr && var_blob != nullptr && factor != nullptr)
      << "bn_variance: null pointer";
  const double correction = m > 1 ? static_cast<double>(m) / static_cast<double>(m - 1) : 1.0;
  variance_kernel<<<cuda::grid_for(channels), cuda::kBlockSize, 0, stream>>>(
      channels, parts_for(m), m, correction, eps, maf, partials, mu, mean, inv_std, mean_blob,
      var_blob, factor);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void bn_global_stats(int64_t channels, float eps, const float* mean_blob, const float* var_blob,
                     const float* factor, float* mean, float* inv_std, cudaStream_t stream) {
  check_args(0, channels, 1, stream, "bn_global_stats");
  if (channels == 0) return;
  CHECK(mean_blob != nullptr && var_blob != nullptr && factor != nullptr && mean != nullptr &&
        inv_std != nullptr)
      << "bn_global_stats: null pointer";
  global_stats_kernel<<<cuda::grid_for(channels), cuda::kBlockSize, 0, stream>>>(
      channels, eps, mean_blob, var_blob, factor, mean, inv_std);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void bn_normalize(int64_t num, int64_t channels, int64_t spatial, const float* x, const float* mean,
                  const float* inv_std, float* y, cudaStream_t stream) {
  check_args(num, channels, spatial, stream, "bn_normalize");
  const int64_t count = num * channels * spatial;
  if (count == 0) return;
  CHECK(x != nullptr && mean != nullptr && inv_std != nullptr && y != nullptr)
      << "bn_normalize: null pointer";
  normalize_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(count, channels, spatial,
                                                                           x, mean, inv_std, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void bn_backward_means(int64_t channels, int64_t m, const double2* partials, float* mean_dy,
                       float* mean_dy_xhat, cudaStream_t stream) {
  check_args(m, channels, 1, stream, "bn_backward_means");
  if (channels == 0) return;
  CHECK(partials != nullptr && mean_dy != nullptr && mean_dy_xhat != nullptr)
      << "bn_backward_means: null pointer";
  backward_means_kernel<<<cuda::grid_for(channels), cuda::kBlockSize, 0, stream>>>(
      channels, parts_for(m), m, partials, mean_dy, mean_dy_xhat);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void bn_backward(int64_t num, int64_t channels, int64_t spatial, const float* x, const float* dy,
                 const float* mean, const float* inv_std, const float* mean_dy,
                 const float* mean_dy_xhat, float* dx, cudaStream_t stream) {
  check_args(num, channels, spatial, stream, "bn_backward");
  const int64_t count = num * channels * spatial;
  if (count == 0) return;
  CHECK(x != nullptr && dy != nullptr && mean != nullptr && inv_std != nullptr &&
        mean_dy != nullptr && mean_dy_xhat != nullptr && dx != nullptr)
      << "bn_backward: null pointer";
  backward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      count, channels, spatial, x, dy, mean, inv_std, mean_dy, mean_dy_xhat, dx);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

Status BatchNormLayer::setup_gpu() {
  const size_t bytes = scratch_bytes(channels_, parts_for(num_ * spatial_));
  return Buffer::allocate(device(), bytes, &gpu_scratch_)
      .with_context("layer '" + name() + "' (BatchNorm) reduction scratch");
}

void BatchNormLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                 WorkerContext& ctx) {
  const BatchNormConfig& bn = config_.batch_norm;
  used_global_stats_ =
      bn.use_global_stats.has_value() ? *bn.use_global_stats : ctx.step().phase == Phase::kTest;
  cudaStream_t stream = ctx.gpu().compute();
  const float* x = bottom[0]->data();
  float* mean_blob = params_[0].blob->data();
  float* var_blob = params_[1].blob->data();
  float* factor = params_[2].blob->data();
  if (used_global_stats_) {
    bn_global_stats(channels_, bn.eps, mean_blob, var_blob, factor, mean(), inv_std(), stream);
  } else {
    const int64_t m = num_ * spatial_;
    const Scratch s = scratch_of(gpu_scratch_.data(), channels_, parts_for(m));
    bn_channel_partials(num_, channels_, spatial_, SumX{x}, s.partials, stream);
    bn_mean(channels_, m, s.partials, s.mu, stream);
    bn_channel_partials(num_, channels_, spatial_, SumSquaredDeviation{x, s.mu}, s.partials,
                        stream);
    bn_variance(channels_, m, bn.eps, bn.moving_average_fraction, s.partials, s.mu, mean(),
                inv_std(), mean_blob, var_blob, factor, stream);
  }
  bn_normalize(num_, channels_, spatial_, x, mean(), inv_std(), top[0]->data(), stream);
}

void BatchNormLayer::backward_gpu(const std::vector<Blob*>& top,
                                  const std::vector<bool>& propagate_down,
                                  const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  cudaStream_t stream = ctx.gpu().compute();
  const float* x = bottom[0]->data();
  const float* dy = top[0]->diff();
  const int64_t m = num_ * spatial_;
  const Scratch s = scratch_of(gpu_scratch_.data(), channels_, parts_for(m));
  if (used_global_stats_) {
    // Both means 0: dx = inv_std * dy, through the CPU's formula.
    BANYAN_CUDA_CHECK(cudaMemsetAsync(s.mean_dy, 0, 2 * channels_ * sizeof(float), stream));
  } else {
    bn_channel_partials(num_, channels_, spatial_, SumDyAndDyXhat{x, dy, mean(), inv_std()},
                        s.partials, stream);
    bn_backward_means(channels_, m, s.partials, s.mean_dy, s.mean_dy_xhat, stream);
  }
  bn_backward(num_, channels_, spatial_, x, dy, mean(), inv_std(), s.mean_dy, s.mean_dy_xhat,
              bottom[0]->diff(), stream);
}

}  // namespace banyan
