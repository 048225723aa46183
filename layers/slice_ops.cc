// CPU side of slice_ops.h: rows split among the worker's threads for the
// affine map; each slice's sums reduced by one thread so results do not
// depend on the thread count.
#include "layers/slice_ops.h"

#include "engine/core/parallel.h"

namespace banyan {

bool slice_span(const Shape& shape, const std::string& blob, int axis, int num_axes, int* begin,
                int* end, std::string* why) {
  if (!shape.valid_axis(axis)) {
    *why = "axis " + std::to_string(axis) + " is out of range for bottom '" + blob + "' of shape " +
           shape.to_string();
    return false;
  }
  if (num_axes < -1) {
    *why = "num_axes must be -1 (through the last axis) or >= 0, got " + std::to_string(num_axes);
    return false;
  }
  *begin = shape.canonical_axis(axis);
  *end = num_axes == -1 ? shape.num_axes() : *begin + num_axes;
  if (*end > shape.num_axes()) {
    *why = "axis " + std::to_string(axis) + " with num_axes " + std::to_string(num_axes) +
           " reaches past the last axis of bottom '" + blob + "' of shape " + shape.to_string();
    return false;
  }
  return true;
}

void slice_affine_cpu(int64_t outer, int64_t dim, int64_t inner, const float* x, const float* gamma,
                      const float* beta, float* y) {
  parallel_for(outer * dim, inner, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t d = row % dim;
      const float g = gamma != nullptr ? gamma[d] : 1.0f, b = beta != nullptr ? beta[d] : 0.0f;
      const float* xr = x + row * inner;
      float* yr = y + row * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) yr[i] = xr[i] * g + b;
    }
  });
}

void slice_sums_cpu(int64_t outer, int64_t dim, int64_t inner, const float* v, const float* x,
                    float* sum_vx, float* sum_v) {
  const bool with_x = x != nullptr && sum_vx != nullptr;
  // Each d reduced by one thread: rows in float by the vector units, the
  // rows in double, in a fixed order.
  parallel_for(dim, outer * inner, 1, [&](int64_t begin, int64_t end) {
    for (int64_t d = begin; d < end; ++d) {
      double total_vx = 0.0, total_v = 0.0;
      for (int64_t o = 0; o < outer; ++o) {
        const int64_t base = (o * dim + d) * inner;
        float row_vx = 0.0f, row_v = 0.0f;
        if (with_x) {
#pragma omp simd reduction(+ : row_vx, row_v)
          for (int64_t i = 0; i < inner; ++i) {
            row_vx += v[base + i] * x[base + i];
            row_v += v[base + i];
          }
        } else {
#pragma omp simd reduction(+ : row_v)
          for (int64_t i = 0; i < inner; ++i) row_v += v[base + i];
        }
        total_vx += row_vx;
        total_v += row_v;
      }
      if (with_x) sum_vx[d] += static_cast<float>(total_vx);
      if (sum_v != nullptr) sum_v[d] += static_cast<float>(total_v);
    }
  });
}

}  // namespace banyan
