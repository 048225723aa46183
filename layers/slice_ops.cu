// GPU side of slice_ops.h: the broadcast affine kernel and the per-slice
// sums in double on a fixed grid (blocks per d chosen from the shape alone,
// partials added in order; no atomics), so they are bitwise reproducible.
// The reduction mirrors batch_norm.cu's.
#include "layers/slice_ops.h"

#include <algorithm>
#include <climits>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"

namespace banyan {
namespace {

constexpr int kThreads = 256;  // per block of the per-d reductions
constexpr int kMaxParts = 32;  // blocks per d, at most
constexpr int64_t kElementsPerThread = 16;

// Blocks per d for m = outer * inner elements: a pure function of the shape.
int parts_for(int64_t m) {
  const int64_t per_block = kThreads * kElementsPerThread;
  return static_cast<int>(std::clamp<int64_t>((m + per_block - 1) / per_block, 1, kMaxParts));
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

// y = x * (gamma[d] or 1) + (beta[d] or 0), rounded like the CPU loop.
__global__ void affine_kernel(int64_t count, int64_t dim, int64_t inner,
                              const float* x,      // x (outer, D, inner)
                              const float* gamma,  // gamma (D) or null
                              const float* beta,   // beta (D) or null
                              float* y) {          // y (outer, D, inner)
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t d = (k / inner) % dim;
    y[k] = __fadd_rn(__fmul_rn(x[k], gamma != nullptr ? gamma[d] : 1.0f),
                     beta != nullptr ? beta[d] : 0.0f);
  }
}

// Grid (D, parts): block (d, p) sums (v * x, v) over elements p*kThreads + t,
// stepping by parts*kThreads, of the outer * inner elements of slice d (v * x
// stays 0 without x).
__global__ void partials_kernel(int64_t outer, int64_t dim, int64_t inner,
                                const float* v,       // v (outer, D, inner)
                                const float* x,       // x (outer, D, inner) or null
                                double2* partials) {  // partials (D, parts)
  const int64_t d = blockIdx.x, parts = gridDim.y, m = outer * inner;
  double2 acc = make_double2(0.0, 0.0);
  for (int64_t j = static_cast<int64_t>(blockIdx.y) * kThreads + threadIdx.x; j < m;
       j += parts * kThreads) {
    const int64_t o = j / inner, i = j - o * inner;
    const int64_t k = (o * dim + d) * inner + i;
    const double g = v[k];
    if (x != nullptr) acc.x = __dadd_rn(acc.x, __dmul_rn(g, static_cast<double>(x[k])));
    acc.y = __dadd_rn(acc.y, g);
  }
  const double2 total = block_sum2(acc);
  if (threadIdx.x == 0) partials[d * parts + blockIdx.y] = total;
}

// sum_vx[d] += float(sum v * x); sum_v[d] += float(sum v), the partials added
// in order; a null output is skipped.
__global__ void finish_sums_kernel(int64_t dim, int parts, const double2* partials,
                                   float* sum_vx,   // (D) or null
                                   float* sum_v) {  // (D) or null
  for (int64_t d = cuda::grid_start(); d < dim; d += cuda::grid_stride()) {
    double2 s = make_double2(0.0, 0.0);
    for (int p = 0; p < parts; ++p) {
      s.x = __dadd_rn(s.x, partials[d * parts + p].x);
      s.y = __dadd_rn(s.y, partials[d * parts + p].y);
    }
    if (sum_vx != nullptr) sum_vx[d] = __fadd_rn(sum_vx[d], static_cast<float>(s.x));
    if (sum_v != nullptr) sum_v[d] = __fadd_rn(sum_v[d], static_cast<float>(s.y));
  }
}

void check_args(int64_t outer, int64_t dim, int64_t inner, cudaStream_t stream, const char* op) {
  CHECK(outer >= 0 && dim >= 0 && dim <= INT_MAX && inner >= 0)
      << op << ": shape " << outer << " x " << dim << " x " << inner;
  cuda::check_stream(stream, op);
}

}  // namespace

void slice_affine_gpu(int64_t outer, int64_t dim, int64_t inner, const float* x, const float* gamma,
                      const float* beta, float* y, cudaStream_t stream) {
  check_args(outer, dim, inner, stream, "slice_affine_gpu");
  const int64_t count = outer * dim * inner;
  if (count == 0) return;
  CHECK(x != nullptr && y != nullptr) << "slice_affine_gpu: null pointer";
  affine_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(count, dim, inner, x, gamma,
                                                                        beta, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

size_t slice_sums_scratch_bytes(int64_t outer, int64_t dim, int64_t inner) {
  return static_cast<size_t>(dim) * parts_for(outer * inner) * sizeof(double2);
}

void slice_sums_gpu(int64_t outer, int64_t dim, int64_t inner, const float* v, const float* x,
                    void* scratch, float* sum_vx, float* sum_v, cudaStream_t stream) {
  check_args(outer, dim, inner, stream, "slice_sums_gpu");
  if (dim == 0 || (sum_vx == nullptr && sum_v == nullptr)) return;
  CHECK(scratch != nullptr && (outer * inner == 0 || v != nullptr))
      << "slice_sums_gpu: null pointer";
  const int parts = parts_for(outer * inner);
  double2* partials = static_cast<double2*>(scratch);
  const dim3 grid(static_cast<unsigned>(dim), parts);
  partials_kernel<<<grid, kThreads, 0, stream>>>(outer, dim, inner, v,
                                                 sum_vx != nullptr ? x : nullptr, partials);
  BANYAN_CUDA_CHECK_LAUNCH();
  finish_sums_kernel<<<cuda::grid_for(dim), cuda::kBlockSize, 0, stream>>>(dim, parts, partials,
                                                                           sum_vx, sum_v);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan
