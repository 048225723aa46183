// Broadcast arithmetic over a blob viewed as (outer, D, inner) with one value
// per slice d, shared by Scale, Bias and PReLU: the affine map and the
// per-slice sums their parameter gradients need.  The sums are reduced in a
// fixed order (CPU: one thread per d; GPU: a grid chosen from the shape alone,
// no atomics), so they are bitwise reproducible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/core/shape.h"

#ifdef BANYAN_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace banyan {

// The axes [*begin, *end) of `shape` a per-slice parameter covers: from
// `axis` (negative counts from the end) through num_axes axes (-1: through
// the last).  False with *why ("axis 4 is out of range for bottom 'x' of
// shape (2, 3)") when they do not fit; `blob` names the bottom.
bool slice_span(const Shape& shape, const std::string& blob, int axis, int num_axes, int* begin,
                int* end, std::string* why);

// y[o, d, i] = x[o, d, i] * gamma[d] + beta[d]; a null gamma stands for 1, a
// null beta for 0.  y may equal x.
void slice_affine_cpu(int64_t outer, int64_t dim, int64_t inner, const float* x, const float* gamma,
                      const float* beta, float* y);

// sum_v[d] += sum over (o, i) of v[o, d, i] and, when x is given,
// sum_vx[d] += sum of v * x; either output may be null (not computed).  Rows
// in float, their sums in double.
void slice_sums_cpu(int64_t outer, int64_t dim, int64_t inner, const float* v, const float* x,
                    float* sum_vx, float* sum_v);

#ifdef BANYAN_WITH_CUDA
// The same on `stream` (device pointers).
void slice_affine_gpu(int64_t outer, int64_t dim, int64_t inner, const float* x, const float* gamma,
                      const float* beta, float* y, cudaStream_t stream);
// Device scratch slice_sums_gpu needs for this shape (allocate at setup).
size_t slice_sums_scratch_bytes(int64_t outer, int64_t dim, int64_t inner);
void slice_sums_gpu(int64_t outer, int64_t dim, int64_t inner, const float* v, const float* x,
                    void* scratch, float* sum_vx, float* sum_v, cudaStream_t stream);
#endif

}  // namespace banyan
