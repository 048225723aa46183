// Bulk BF16 conversions; see bf16.h.
#include "engine/core/bf16.h"

namespace banyan {

void to_bf16(const float* in, int64_t n, Bf16* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = to_bf16(in[i]);
}

void from_bf16(const Bf16* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = from_bf16(in[i]);
}

void round_bf16(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = round_bf16(x[i]);
}

void accumulate_rounded_bf16(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += round_bf16(x[i]);
}

}  // namespace banyan
