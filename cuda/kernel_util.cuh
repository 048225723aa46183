// Device-side helpers shared by the .cu files: loading and storing float or
// bf16 elements (bf16 travels as its raw bits, cuda/types.h), the
// grid-stride loop bounds and a deterministic block sum.  Included only by .cu files.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "cuda/types.h"

namespace banyan::cuda {

__device__ __forceinline__ float load_as_float(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load_as_float(const Bf16* p, int64_t i) {
  return __bfloat162float(__ushort_as_bfloat16(p[i]));
}

// Stores v, rounded to nearest even for bf16.
__device__ __forceinline__ void store_from_float(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store_from_float(Bf16* p, int64_t i, float v) {
  p[i] = __bfloat16_as_ushort(__float2bfloat16_rn(v));
}

// First index and stride of a grid-stride loop over a 1-d grid.
__device__ __forceinline__ int64_t grid_start() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() {
  return static_cast<int64_t>(blockDim.x) * gridDim.x;
}

// The sum of `v` over the kThreads threads of the block, in a fixed tree
// order (deterministic); every thread gets the result.  All threads of the
// block must call it, once per kernel.
template <int kThreads>
__device__ double block_sum(double v) {
  static_assert((kThreads & (kThreads - 1)) == 0, "block_sum needs a power-of-two block");
  __shared__ double partial[kThreads];
  partial[threadIdx.x] = v;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) {
      partial[threadIdx.x] = __dadd_rn(partial[threadIdx.x], partial[threadIdx.x + stride]);
    }
    __syncthreads();
  }
  return partial[0];
}

}  // namespace banyan::cuda
