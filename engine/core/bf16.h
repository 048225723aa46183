// bfloat16 on the host: the upper 16 bits of an IEEE float (8-bit exponent,
// 7 stored mantissa bits).  Conversion rounds to nearest, ties to even, as
// the GPU's __float2bfloat16_rn does; overflow rounds to infinity; a NaN
// stays a NaN of the same sign (made quiet).  These are the CPU reference
// of BF16 mixed precision (docs/design-notes.md, "Mixed precision").
#pragma once

#include <cstdint>
#include <cstring>

namespace banyan {

using Bf16 = uint16_t;

// The unit roundoff of a BF16 store (8 significant bits, round to
// nearest): |round(x) - x| <= kBf16Roundoff * |x|.
inline constexpr double kBf16Roundoff = 1.0 / 256.0;  // 2^-8

inline Bf16 to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<Bf16>((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<Bf16>(u >> 16);
}

inline float from_bf16(Bf16 b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// The float nearest to f that BF16 holds exactly.
inline float round_bf16(float f) { return from_bf16(to_bf16(f)); }

// Bulk forms (plain loops the compiler vectorises).
void to_bf16(const float* in, int64_t n, Bf16* out);
void from_bf16(const Bf16* in, int64_t n, float* out);
// x[i] = round_bf16(x[i]).
void round_bf16(float* x, int64_t n);
// y[i] += round_bf16(x[i]): a BF16-rounded increment accumulated in FP32.
void accumulate_rounded_bf16(const float* x, int64_t n, float* y);

}  // namespace banyan
