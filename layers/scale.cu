// GPU Scale over x viewed as (outer, D, inner): broadcast multiply-add
// forward, dx = dy * gamma backward, and the parameter gradients summed in
// double per d on a fixed grid (blocks per d chosen from the shape alone,
// partials added in order; no atomics), so they are bitwise reproducible and
// accumulate (+=) like scale.cc.  The reduction mirrors batch_norm.cu's.
#include "layers/scale.h"

#include <algorithm>
#include <climits>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

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

// y = x * gamma[d] + (beta[d] or 0), rounded like the CPU loop.
__global__ void scale_forward_kernel(int64_t count, int64_t dim, int64_t inner,
                                     const float* x,      // x (outer, D, inner)
                                     const float* gamma,  // gamma (D)
                                     const float* beta,   // beta (D) or null
                                     float* y) {          // y (outer, D, inner)
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t d = (k / inner) % dim;
    y[k] = __fadd_rn(__fmul_rn(x[k], gamma[d]), beta != nullptr ? beta[d] : 0.0f);
  }
}

// Grid (D, parts): block (d, p) sums (dy * x, dy) over elements p*kThreads + t,
// stepping by parts*kThreads, of the outer * inner elements of slice d.
__global__ void scale_partials_kernel(int64_t outer, int64_t dim, int64_t inner,
                                      const float* x,       // x (outer, D, inner)
                                      const float* dy,      // dy (outer, D, inner)
                                      double2* partials) {  // partials (D, parts)
  const int64_t d = blockIdx.x, parts = gridDim.y, m = outer * inner;
  double2 acc = make_double2(0.0, 0.0);
  for (int64_t j = static_cast<int64_t>(blockIdx.y) * kThreads + threadIdx.x; j < m;
       j += parts * kThreads) {
    const int64_t o = j / inner, i = j - o * inner;
    const int64_t k = (o * dim + d) * inner + i;
    const double g = dy[k];
    acc.x = __dadd_rn(acc.x, __dmul_rn(g, static_cast<double>(x[k])));
    acc.y = __dadd_rn(acc.y, g);
  }
  const double2 total = block_sum2(acc);
  if (threadIdx.x == 0) partials[d * parts + blockIdx.y] = total;
}

// dgamma[d] += float(sum dy * x); dbeta[d] += float(sum dy), the partials
// added in order.
__global__ void scale_param_grad_kernel(int64_t dim, int parts, const double2* partials,
                                        float* dgamma,   // dgamma (D)
                                        float* dbeta) {  // dbeta (D) or null
  for (int64_t d = cuda::grid_start(); d < dim; d += cuda::grid_stride()) {
    double2 s = make_double2(0.0, 0.0);
    for (int p = 0; p < parts; ++p) {
      s.x = __dadd_rn(s.x, partials[d * parts + p].x);
      s.y = __dadd_rn(s.y, partials[d * parts + p].y);
    }
    dgamma[d] = __fadd_rn(dgamma[d], static_cast<float>(s.x));
    if (dbeta != nullptr) dbeta[d] = __fadd_rn(dbeta[d], static_cast<float>(s.y));
  }
}

__global__ void scale_backward_kernel(int64_t count, int64_t dim, int64_t inner,
                                      const float* dy,     // dy (outer, D, inner)
                                      const float* gamma,  // gamma (D)
                                      float* dx) {         // dx (outer, D, inner)
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    dx[k] = __fmul_rn(dy[k], gamma[(k / inner) % dim]);
  }
}

void check_args(int64_t outer, int64_t dim, int64_t inner, cudaStream_t stream, const char* op) {
  CHECK(outer >= 0 && dim >= 0 && dim <= INT_MAX && inner >= 0)
      << op << ": shape " << outer << " x " << dim << " x " << inner;
  cuda::check_stream(stream, op);
}

void scale_forward(int64_t outer, int64_t dim, int64_t inner, const float* x, const float* gamma,
                   const float* beta, float* y, cudaStream_t stream) {
  check_args(outer, dim, inner, stream, "scale_forward");
  const int64_t count = outer * dim * inner;
  if (count == 0) return;
  CHECK(x != nullptr && gamma != nullptr && y != nullptr) << "scale_forward: null pointer";
  scale_forward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(count, dim, inner, x,
                                                                               gamma, beta, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void scale_partials(int64_t outer, int64_t dim, int64_t inner, const float* x, const float* dy,
                    double2* partials, cudaStream_t stream) {
  check_args(outer, dim, inner, stream, "scale_partials");
  if (dim == 0) return;
  CHECK(partials != nullptr && (outer * inner == 0 || (x != nullptr && dy != nullptr)))
      << "scale_partials: null pointer";
  const dim3 grid(static_cast<unsigned>(dim), parts_for(outer * inner));
  scale_partials_kernel<<<grid, kThreads, 0, stream>>>(outer, dim, inner, x, dy, partials);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void scale_param_grad(int64_t dim, int parts, const double2* partials, float* dgamma, float* dbeta,
                      cudaStream_t stream) {
  check_args(0, dim, 0, stream, "scale_param_grad");
  if (dim == 0) return;
  CHECK(partials != nullptr && dgamma != nullptr) << "scale_param_grad: null pointer";
  scale_param_grad_kernel<<<cuda::grid_for(dim), cuda::kBlockSize, 0, stream>>>(
      dim, parts, partials, dgamma, dbeta);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void scale_backward(int64_t outer, int64_t dim, int64_t inner, const float* dy, const float* gamma,
                    float* dx, cudaStream_t stream) {
  check_args(outer, dim, inner, stream, "scale_backward");
  const int64_t count = outer * dim * inner;
  if (count == 0) return;
  CHECK(dy != nullptr && gamma != nullptr && dx != nullptr) << "scale_backward: null pointer";
  scale_backward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(count, dim, inner,
                                                                                dy, gamma, dx);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

Status ScaleLayer::setup_gpu() {
  const size_t bytes = static_cast<size_t>(dim_) * parts_for(outer_ * inner_) * sizeof(double2);
  return Buffer::allocate(device(), bytes, &gpu_scratch_)
      .with_context("layer '" + name() + "' (Scale) reduction scratch");
}

void ScaleLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                             WorkerContext& ctx) {
  scale_forward(outer_, dim_, inner_, bottom[0]->data(), params_[0].blob->data(),
                params_.size() > 1 ? params_[1].blob->data() : nullptr, top[0]->data(),
                ctx.gpu().compute());
}

void ScaleLayer::backward_gpu(const std::vector<Blob*>& top,
                              const std::vector<bool>& propagate_down,
                              const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  double2* partials = static_cast<double2*>(gpu_scratch_.data());
  scale_partials(outer_, dim_, inner_, bottom[0]->data(), top[0]->diff(), partials, stream);
  scale_param_grad(dim_, parts_for(outer_ * inner_), partials, params_[0].blob->diff(),
                   params_.size() > 1 ? params_[1].blob->diff() : nullptr, stream);
  if (!propagate_down[0]) return;
  scale_backward(outer_, dim_, inner_, top[0]->diff(), params_[0].blob->data(), bottom[0]->diff(),
                 stream);
}

}  // namespace banyan
