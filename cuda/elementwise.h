// Elementwise kernels and type conversion over flat arrays of n elements,
// asynchronous on an explicit stream.  Arguments follow engine/core/math.h
// (n first, then scalars, inputs, outputs).  Float arithmetic is done with
// separately rounded multiplies and adds (no fused multiply-add), so results
// equal the CPU loops bit for bit.  Bf16 variants compute in FP32 and round
// once, to nearest even, when storing.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/types.h"

namespace banyan::cuda {

// x(n) = value
void fill(int64_t n, float value, float* x, cudaStream_t stream);
void fill(int64_t n, float value, Bf16* x, cudaStream_t stream);

// x(n) *= alpha
void scale(int64_t n, float alpha, float* x, cudaStream_t stream);
void scale(int64_t n, float alpha, Bf16* x, cudaStream_t stream);

// y(n) += alpha * x(n)
void axpy(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream);
void axpy(int64_t n, float alpha, const Bf16* x, Bf16* y, cudaStream_t stream);

// z(n) = x(n) + y(n); z may alias x or y.
void add(int64_t n, const float* x, const float* y, float* z, cudaStream_t stream);
void add(int64_t n, const Bf16* x, const Bf16* y, Bf16* z, cudaStream_t stream);

// y(n) = alpha * x(n); y may alias x.
void copy_scaled(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream);
void copy_scaled(int64_t n, float alpha, const Bf16* x, Bf16* y, cudaStream_t stream);

// y(n) = bf16(x(n)), round to nearest even (__float2bfloat16_rn): overflow
// gives +-inf, NaN stays NaN.
void float_to_bf16(int64_t n, const float* x, Bf16* y, cudaStream_t stream);
// y(n) = float(x(n)), exact.
void bf16_to_float(int64_t n, const Bf16* x, float* y, cudaStream_t stream);

// y(n) = the IEEE half nearest to x(n) (round to nearest even), as its 16
// bits; finite values beyond +-65504 saturate to +-65504 (no infinity),
// NaN stays NaN: the CPU's to_wire(.., kFp16) (engine/exchange/wire.h).
void float_to_half_saturated(int64_t n, const float* x, uint16_t* y, cudaStream_t stream);
// y(n) = float(x(n)) for halves given as their bits, exact.
void half_to_float(int64_t n, const uint16_t* x, float* y, cudaStream_t stream);

// y(n) = float(bf16(x(n))): x rounded to the nearest bfloat16, kept as
// float (the compute copies of BF16 parameters); y may alias x.
void round_to_bf16(int64_t n, const float* x, float* y, cudaStream_t stream);
// y(n) += float(bf16(x(n))): a BF16-rounded increment accumulated in FP32.
void accumulate_rounded_bf16(int64_t n, const float* x, float* y, cudaStream_t stream);

}  // namespace banyan::cuda
