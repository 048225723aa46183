// OpenBLAS-backed CPU math (and oneDNN's GEMM for the default backend).  The loops that are not
// BLAS calls stay plain so the compiler vectorises them.
#include "engine/core/math.h"

#include <cblas.h>
#include <glog/logging.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "engine/core/parallel.h"

namespace banyan {

void cpu_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
              const float* B, float beta, float* C) {
  int lda = trans_a ? M : K;
  int ldb = trans_b ? K : N;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
}

void dnnl_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
               const float* B, float beta, float* C) {
  const dnnl_status_t s = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A,
                                     trans_a ? M : K, B, trans_b ? K : N, beta, C, N);
  CHECK_EQ(s, dnnl_success) << "dnnl_sgemm " << M << "x" << N << "x" << K;
}

void cpu_gemv(bool trans_a, int M, int N, float alpha, const float* A, const float* x, float beta,
              float* y) {
  cblas_sgemv(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, M, N, alpha, A, N, x, 1, beta, y,
              1);
}

void cpu_axpy(int64_t n, float alpha, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void cpu_scale(int64_t n, float alpha, float* x) {
  for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
}

void cpu_set(int64_t n, float value, float* x) { std::fill(x, x + n, value); }

void cpu_copy(int64_t n, const float* src, float* dst) {
  if (src != dst && n > 0) std::memmove(dst, src, static_cast<size_t>(n) * sizeof(float));
}

double cpu_dot(int64_t n, const float* x, const float* y) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * y[i];
  return s;
}

double cpu_sum_squares(int64_t n, const float* x) { return cpu_dot(n, x, x); }

bool cpu_all_finite(int64_t n, const float* x) {
  std::atomic<bool> finite{true};
  parallel_for(n, 1, 16, [&](int64_t begin, int64_t end) {
    // x * 0 is 0 for finite x and NaN for NaN and the infinities, so one
    // sum tells; no branch in the loop.
    float probe = 0.0f;
#pragma omp simd reduction(+ : probe)
    for (int64_t i = begin; i < end; ++i) probe += x[i] * 0.0f;
    if (probe != 0.0f) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load();
}

void cpu_set_blas_threads(int threads) {
  if (threads > 0) openblas_set_num_threads(threads);
}

}  // namespace banyan
