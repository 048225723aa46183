// Two-pass deterministic sums: pass 1 on a fixed grid of kReducePartials
// blocks writes one double per block, pass 2 (one block) sums those.
#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "cuda/reduce.h"

namespace banyan::cuda {
namespace {

constexpr int kThreads = kReducePartials;  // pass 2 runs one thread per partial

template <bool kSquare>
__global__ void partial_sums_kernel(int64_t n, const float* x,  // x (n)
                                    double* partials) {         // partials (kReducePartials)
  double acc = 0.0;
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const double v = x[i];
    acc = __dadd_rn(acc, kSquare ? __dmul_rn(v, v) : v);
  }
  const double total = block_sum<kThreads>(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

__global__ void sum_partials_kernel(const double* partials,  // partials (kReducePartials)
                                    double* result) {        // result (1)
  const double total = block_sum<kThreads>(partials[threadIdx.x]);
  if (threadIdx.x == 0) *result = total;
}

template <bool kSquare>
void reduce(int64_t n, const float* x, double* partials, double* result, cudaStream_t stream,
            const char* op) {
  CHECK_GE(n, 0) << op;
  CHECK(partials != nullptr && result != nullptr) << op << ": null partials or result";
  CHECK(n == 0 || x != nullptr) << op << ": null input";
  check_stream(stream, op);
  // n == 0 still runs: every block writes a zero partial and the result is 0.
  partial_sums_kernel<kSquare><<<kReducePartials, kThreads, 0, stream>>>(n, x, partials);
  BANYAN_CUDA_CHECK_LAUNCH();
  sum_partials(partials, result, stream);
}

}  // namespace

void sum(int64_t n, const float* x, double* partials, double* result, cudaStream_t stream) {
  reduce<false>(n, x, partials, result, stream, "sum");
}

void sum_squares(int64_t n, const float* x, double* partials, double* result, cudaStream_t stream) {
  reduce<true>(n, x, partials, result, stream, "sum_squares");
}

void sum_partials(const double* partials, double* result, cudaStream_t stream) {
  CHECK(partials != nullptr && result != nullptr) << "sum_partials: null partials or result";
  check_stream(stream, "sum_partials");
  sum_partials_kernel<<<1, kThreads, 0, stream>>>(partials, result);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan::cuda
