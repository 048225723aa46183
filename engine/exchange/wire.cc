// Conversions for 16-bit gradients on the wire.  BF16 goes through the
// engine's own conversions (engine/core/bf16.h); FP16 (IEEE binary16,
// round to nearest even) after clamping to the largest finite half.
#include "engine/exchange/wire.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/bf16.h"

namespace banyan {
namespace {

constexpr float kHalfMax = 65504.0f;

uint32_t float_bits(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof(b));
  return b;
}

// float -> IEEE binary16, round to nearest even (what a hardware or
// _Float16 conversion gives; written out because not every compiler
// Banyan builds with has _Float16 on x86).  Magnitudes above the largest
// half are clamped first; NaNs stay NaNs (made quiet).
uint16_t to_half(float x) {
  if (!std::isnan(x)) x = std::clamp(x, -kHalfMax, kHalfMax);
  const uint32_t bits = float_bits(x);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) {  // NaN: keep the top payload bits
    return static_cast<uint16_t>(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
  }
  if (magnitude < 0x38800000u) {  // below 2^-14: a subnormal half (or 0 / 2^-14)
    // |x| * 2^24 is exact; nearbyint rounds to nearest even.
    const float scaled = std::fabs(x) * 16777216.0f;
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(scaled)));
  }
  uint32_t h = (magnitude >> 13) - (112u << 10);  // rebias the exponent 127 -> 15
  const uint32_t rest = magnitude & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) != 0)) ++h;  // carries into the exponent
  return static_cast<uint16_t>(sign | h);
}

float from_half(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float
    const float v = static_cast<float>(mantissa) * (1.0f / 16777216.0f);
    bits = sign | float_bits(v);
  } else if (exponent == 31) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  }
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

}  // namespace

uint16_t to_wire(float x, WirePrecision wire) {
  DCHECK(wire != WirePrecision::kFloat32);
  return wire == WirePrecision::kBf16 ? to_bf16(x) : to_half(x);
}

float from_wire(uint16_t x, WirePrecision wire) {
  DCHECK(wire != WirePrecision::kFloat32);
  return wire == WirePrecision::kBf16 ? from_bf16(x) : from_half(x);
}

void to_wire(const float* in, size_t n, WirePrecision wire, uint16_t* out) {
  if (wire == WirePrecision::kBf16) {
    to_bf16(in, static_cast<int64_t>(n), out);
  } else {
    for (size_t i = 0; i < n; ++i) out[i] = to_half(in[i]);
  }
}

void from_wire(const uint16_t* in, size_t n, WirePrecision wire, float* out) {
  if (wire == WirePrecision::kBf16) {
    from_bf16(in, static_cast<int64_t>(n), out);
  } else {
    for (size_t i = 0; i < n; ++i) out[i] = from_half(in[i]);
  }
}

void add_on_wire(const uint16_t* in, uint16_t* inout, size_t n, WirePrecision wire) {
  if (wire == WirePrecision::kBf16) {
    for (size_t i = 0; i < n; ++i) inout[i] = to_bf16(from_bf16(in[i]) + from_bf16(inout[i]));
  } else {
    for (size_t i = 0; i < n; ++i) inout[i] = to_half(from_half(in[i]) + from_half(inout[i]));
  }
}

const char* wire_precision_name(WirePrecision wire) {
  switch (wire) {
    case WirePrecision::kFloat32:
      return "FP32";
    case WirePrecision::kBf16:
      return "BF16";
    case WirePrecision::kFp16:
      return "FP16";
  }
  return "?";
}

}  // namespace banyan
