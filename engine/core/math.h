// CPU math used by the reference (CPU) layer implementations: GEMM/GEMV via
// OpenBLAS (row-major) and a few vector helpers.
#pragma once

#include <cstdint>

namespace banyan {

// C(M,N) = alpha * op(A) * op(B) + beta * C, row-major, with op(A) of shape
// (M,K) and op(B) of shape (K,N).
void cpu_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
              const float* B, float beta, float* C);
// The same product through oneDNN's GEMM (dnnl_sgemm), threaded with the
// calling thread's OpenMP team (use_cpu_threads); what CPU layers use on
// the default backend.  Bitwise repeatable for a fixed thread count.
void dnnl_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
               const float* B, float beta, float* C);
// The GEMM a layer runs for `backend`: cpu_gemm (reference) or dnnl_gemm.
using GemmFn = void (*)(bool, bool, int, int, int, float, const float*, const float*, float,
                        float*);
// y(M) = alpha * op(A) x + beta * y with A (M,N) row-major (or (N,M) if trans).
void cpu_gemv(bool trans_a, int M, int N, float alpha, const float* A, const float* x, float beta,
              float* y);
// y += alpha * x
void cpu_axpy(int64_t n, float alpha, const float* x, float* y);
// x *= alpha
void cpu_scale(int64_t n, float alpha, float* x);
void cpu_set(int64_t n, float value, float* x);
void cpu_copy(int64_t n, const float* src, float* dst);
// sum x[i]*y[i], accumulated in double
double cpu_dot(int64_t n, const float* x, const float* y);
// sum x[i]^2, accumulated in double
double cpu_sum_squares(int64_t n, const float* x);
// Whether every x[i] is finite (no NaN, no infinity); one vectorised pass
// split among the calling thread's OpenMP team.
bool cpu_all_finite(int64_t n, const float* x);
// Sets the OpenBLAS thread count (0 = leave as is).
void cpu_set_blas_threads(int threads);

}  // namespace banyan
