// Row-major GEMM through cublasGemmEx (the swap of A and B is in gemm.h).
// Type combinations are those cuBLAS documents for CUBLAS_COMPUTE_32F:
// f32*f32->f32, bf16*bf16->bf16 and bf16*bf16->f32.
#include "cuda/gemm.h"

#include <glog/logging.h>

#include <algorithm>

#include "cuda/check.h"

namespace banyan::cuda {
namespace {

cudaDataType_t cuda_type(DataType t) { return t == DataType::kFloat32 ? CUDA_R_32F : CUDA_R_16BF; }

}  // namespace

void gemm(const CublasHandle& handle, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
          const float* A, const float* B, float beta, float* C) {
  gemm_ex(handle, trans_a, trans_b, M, N, K, alpha, A, B, DataType::kFloat32, beta, C,
          DataType::kFloat32);
}

void gemm_ex(const CublasHandle& handle, bool trans_a, bool trans_b, int M, int N, int K,
             float alpha, const void* A, const void* B, DataType ab_type, float beta, void* C,
             DataType c_type) {
  CHECK(!handle.empty()) << "gemm: cuBLAS handle not created";
  CHECK(M >= 0 && N >= 0 && K >= 0) << "gemm: bad sizes M=" << M << " N=" << N << " K=" << K;
  CHECK(ab_type == DataType::kBFloat16 || c_type == DataType::kFloat32)
      << "gemm: float inputs need a float output";
  if (M == 0 || N == 0) return;
  CHECK(C != nullptr && (K == 0 || (A != nullptr && B != nullptr))) << "gemm: null matrix";
  // Row-major leading dimensions (engine/core/math.cc), at least 1 for cuBLAS.
  const int lda = std::max(1, trans_a ? M : K);
  const int ldb = std::max(1, trans_b ? K : N);
  const cublasComputeType_t compute = ab_type == DataType::kFloat32 && handle.allow_tf32()
                                          ? CUBLAS_COMPUTE_32F_FAST_TF32
                                          : CUBLAS_COMPUTE_32F;
  // Column-major C^T(N,M) = op(B)^T(N,K) * op(A)^T(K,M).
  BANYAN_CUBLAS_CHECK(cublasGemmEx(handle.get(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B,
                                   cuda_type(ab_type), ldb, A, cuda_type(ab_type), lda, &beta, C,
                                   cuda_type(c_type), N, compute, CUBLAS_GEMM_DEFAULT));
}

}  // namespace banyan::cuda
