// Row-major GEMM on cuBLAS with engine/core/math.h's argument convention, so
// a layer's GPU code reads like its CPU code.  cuBLAS is column-major: a
// row-major C = op(A) op(B) is computed as the column-major C^T = op(B)^T
// op(A)^T, i.e. with A and B swapped (as Caffe's caffe_gpu_gemm does).
#pragma once

#include <cstdint>

#include "cuda/handles.h"
#include "cuda/types.h"

namespace banyan::cuda {

// C(M,N) = alpha * op(A) * op(B) + beta * C, row-major, op(A) of shape (M,K)
// and op(B) of shape (K,N): A is (M,K), or (K,M) when trans_a; B is (K,N), or
// (N,K) when trans_b.  All float, FP32 accumulation; TF32 tensor cores when
// the handle allows them.  Runs on the handle's stream.
void gemm(const CublasHandle& handle, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
          const float* A, const float* B, float beta, float* C);

// The same with A and B of type `ab_type` and C of type `c_type` (each float
// or bf16), accumulating in FP32; alpha and beta are float.  Bf16 inputs use
// the bf16 tensor cores.
void gemm_ex(const CublasHandle& handle, bool trans_a, bool trans_b, int M, int N, int K,
             float alpha, const void* A, const void* B, DataType ab_type, float beta, void* C,
             DataType c_type);

}  // namespace banyan::cuda
