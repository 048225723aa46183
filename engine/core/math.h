// CPU math used by the reference (CPU) layer implementations: GEMM/GEMV via
// OpenBLAS (row-major) and a few vector helpers.
#pragma once

#include <cstdint>

namespace banyan {

// C(M,N) = alpha * op(A) * op(B) + beta * C, row-major, with op(A) of shape
// (M,K) and op(B) of shape (K,N).
void CpuGemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
             const float* B, float beta, float* C);
// y(M) = alpha * op(A) x + beta * y with A (M,N) row-major (or (N,M) if trans).
void CpuGemv(bool trans_a, int M, int N, float alpha, const float* A, const float* x, float beta,
             float* y);
// y += alpha * x
void CpuAxpy(int64_t n, float alpha, const float* x, float* y);
// x *= alpha
void CpuScale(int64_t n, float alpha, float* x);
void CpuSet(int64_t n, float value, float* x);
void CpuCopy(int64_t n, const float* src, float* dst);
// sum x[i]*y[i], accumulated in double
double CpuDot(int64_t n, const float* x, const float* y);
// sum x[i]^2, accumulated in double
double CpuSumSquares(int64_t n, const float* x);
// Sets the OpenBLAS thread count (0 = leave as is).
void CpuSetBlasThreads(int threads);

}  // namespace banyan
