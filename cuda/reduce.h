// Deterministic reductions of float arrays into a double on the device: a
// fixed grid (independent of the GPU) accumulates in double, each block sums
// its threads in a fixed tree, and a second one-block pass sums the block
// partials in a fixed tree.  No atomics, so results are bitwise the same run
// to run and on every device.  The caller provides the partials scratch
// (kReducePartials doubles) so nothing allocates in the training step.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace banyan::cuda {

// Blocks of the first pass = threads of the second = scratch doubles.
inline constexpr int kReducePartials = 256;

// *result = sum of x(n), accumulated in double.  result and partials
// (kReducePartials) are device memory; result is written on `stream`.
void sum(int64_t n, const float* x, double* partials, double* result, cudaStream_t stream);
// *result = sum of x(n)^2, accumulated in double (each square is exact).
void sum_squares(int64_t n, const float* x, double* partials, double* result, cudaStream_t stream);

// The second pass alone: *result = the fixed-order sum of partials
// (kReducePartials).  For other first passes (cuda/sgd_update.cu).
void sum_partials(const double* partials, double* result, cudaStream_t stream);

}  // namespace banyan::cuda
