// Elementwise kernels: one thread per element in a grid-stride loop.  The
// intrinsics __fmul_rn/__fadd_rn are never contracted into FMAs, which keeps
// results identical to the CPU loops of engine/core/math.h.
#include "cuda/elementwise.h"

#include <cuda_fp16.h>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"

namespace banyan::cuda {
namespace {

template <typename T>
__global__ void fill_kernel(int64_t n, float value, T* x) {  // x (n)
  for (int64_t i = grid_start(); i < n; i += grid_stride()) store_from_float(x, i, value);
}

template <typename T>
__global__ void scale_kernel(int64_t n, float alpha, T* x) {  // x (n)
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    store_from_float(x, i, __fmul_rn(alpha, load_as_float(x, i)));
  }
}

template <typename T>
__global__ void axpy_kernel(int64_t n, float alpha, const T* x, T* y) {  // x, y (n)
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    store_from_float(y, i, __fadd_rn(load_as_float(y, i), __fmul_rn(alpha, load_as_float(x, i))));
  }
}

template <typename T>
__global__ void add_kernel(int64_t n, const T* x, const T* y, T* z) {  // x, y, z (n)
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    store_from_float(z, i, __fadd_rn(load_as_float(x, i), load_as_float(y, i)));
  }
}

template <typename T>
__global__ void copy_scaled_kernel(int64_t n, float alpha, const T* x, T* y) {  // x, y (n)
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    store_from_float(y, i, __fmul_rn(alpha, load_as_float(x, i)));
  }
}

template <typename From, typename To>
__global__ void convert_kernel(int64_t n, const From* x, To* y) {  // x, y (n)
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    store_from_float(y, i, load_as_float(x, i));
  }
}

__global__ void float_to_half_kernel(int64_t n, const float* x, uint16_t* y) {  // x, y (n)
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    float v = x[i];
    if (!isnan(v)) v = fminf(fmaxf(v, -65504.0f), 65504.0f);
    y[i] = __half_as_ushort(__float2half_rn(v));
  }
}

__global__ void half_to_float_kernel(int64_t n, const uint16_t* x, float* y) {  // x, y (n)
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    y[i] = __half2float(__ushort_as_half(x[i]));
  }
}

__global__ void round_kernel(int64_t n, const float* x, float* y) {  // x, y (n)
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    y[i] = __bfloat162float(__float2bfloat16_rn(x[i]));
  }
}

__global__ void accumulate_rounded_kernel(int64_t n, const float* x, float* y) {  // x, y (n)
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    y[i] = __fadd_rn(y[i], __bfloat162float(__float2bfloat16_rn(x[i])));
  }
}

// The launcher steps shared by every op: check, size the grid, launch, check.
bool begin(int64_t n, const void* out, cudaStream_t stream, const char* op) {
  CHECK_GE(n, 0) << op;
  check_stream(stream, op);
  if (n == 0) return false;
  CHECK(out != nullptr) << op << ": null output for " << n << " elements";
  return true;
}

}  // namespace

void fill(int64_t n, float value, float* x, cudaStream_t stream) {
  if (!begin(n, x, stream, "fill")) return;
  fill_kernel<float><<<grid_for(n), kBlockSize, 0, stream>>>(n, value, x);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void fill(int64_t n, float value, Bf16* x, cudaStream_t stream) {
  if (!begin(n, x, stream, "fill")) return;
  fill_kernel<Bf16><<<grid_for(n), kBlockSize, 0, stream>>>(n, value, x);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void scale(int64_t n, float alpha, float* x, cudaStream_t stream) {
  if (!begin(n, x, stream, "scale")) return;
  scale_kernel<float><<<grid_for(n), kBlockSize, 0, stream>>>(n, alpha, x);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void scale(int64_t n, float alpha, Bf16* x, cudaStream_t stream) {
  if (!begin(n, x, stream, "scale")) return;
  scale_kernel<Bf16><<<grid_for(n), kBlockSize, 0, stream>>>(n, alpha, x);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void axpy(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream) {
  if (!begin(n, y, stream, "axpy")) return;
  CHECK(x != nullptr) << "axpy: null input";
  axpy_kernel<float><<<grid_for(n), kBlockSize, 0, stream>>>(n, alpha, x, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void axpy(int64_t n, float alpha, const Bf16* x, Bf16* y, cudaStream_t stream) {
  if (!begin(n, y, stream, "axpy")) return;
  CHECK(x != nullptr) << "axpy: null input";
  axpy_kernel<Bf16><<<grid_for(n), kBlockSize, 0, stream>>>(n, alpha, x, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void add(int64_t n, const float* x, const float* y, float* z, cudaStream_t stream) {
  if (!begin(n, z, stream, "add")) return;
  CHECK(x != nullptr && y != nullptr) << "add: null input";
  add_kernel<float><<<grid_for(n), kBlockSize, 0, stream>>>(n, x, y, z);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void add(int64_t n, const Bf16* x, const Bf16* y, Bf16* z, cudaStream_t stream) {
  if (!begin(n, z, stream, "add")) return;
  CHECK(x != nullptr && y != nullptr) << "add: null input";
  add_kernel<Bf16><<<grid_for(n), kBlockSize, 0, stream>>>(n, x, y, z);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void copy_scaled(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream) {
  if (!begin(n, y, stream, "copy_scaled")) return;
  CHECK(x != nullptr) << "copy_scaled: null input";
  copy_scaled_kernel<float><<<grid_for(n), kBlockSize, 0, stream>>>(n, alpha, x, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void copy_scaled(int64_t n, float alpha, const Bf16* x, Bf16* y, cudaStream_t stream) {
  if (!begin(n, y, stream, "copy_scaled")) return;
  CHECK(x != nullptr) << "copy_scaled: null input";
  copy_scaled_kernel<Bf16><<<grid_for(n), kBlockSize, 0, stream>>>(n, alpha, x, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void float_to_bf16(int64_t n, const float* x, Bf16* y, cudaStream_t stream) {
  if (!begin(n, y, stream, "float_to_bf16")) return;
  CHECK(x != nullptr) << "float_to_bf16: null input";
  convert_kernel<float, Bf16><<<grid_for(n), kBlockSize, 0, stream>>>(n, x, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void bf16_to_float(int64_t n, const Bf16* x, float* y, cudaStream_t stream) {
  if (!begin(n, y, stream, "bf16_to_float")) return;
  CHECK(x != nullptr) << "bf16_to_float: null input";
  convert_kernel<Bf16, float><<<grid_for(n), kBlockSize, 0, stream>>>(n, x, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void float_to_half_saturated(int64_t n, const float* x, uint16_t* y, cudaStream_t stream) {
  if (!begin(n, y, stream, "float_to_half_saturated")) return;
  CHECK(x != nullptr) << "float_to_half_saturated: null input";
  float_to_half_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(n, x, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void half_to_float(int64_t n, const uint16_t* x, float* y, cudaStream_t stream) {
  if (!begin(n, y, stream, "half_to_float")) return;
  CHECK(x != nullptr) << "half_to_float: null input";
  half_to_float_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(n, x, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void round_to_bf16(int64_t n, const float* x, float* y, cudaStream_t stream) {
  if (!begin(n, y, stream, "round_to_bf16")) return;
  CHECK(x != nullptr) << "round_to_bf16: null input";
  round_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(n, x, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void accumulate_rounded_bf16(int64_t n, const float* x, float* y, cudaStream_t stream) {
  if (!begin(n, y, stream, "accumulate_rounded_bf16")) return;
  CHECK(x != nullptr) << "accumulate_rounded_bf16: null input";
  accumulate_rounded_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(n, x, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan::cuda
