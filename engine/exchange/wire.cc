// Conversions for 16-bit gradients on the wire.  BF16 goes through the
// engine's own conversions (engine/core/bf16.h); FP16 through the
// compiler's _Float16 (IEEE binary16, round to nearest even), after
// clamping to the largest finite half.
#include "engine/exchange/wire.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/bf16.h"

namespace banyan {
namespace {

constexpr float kHalfMax = 65504.0f;

uint16_t to_half(float x) {
  if (!std::isnan(x)) x = std::clamp(x, -kHalfMax, kHalfMax);
  const _Float16 h = static_cast<_Float16>(x);
  uint16_t bits;
  std::memcpy(&bits, &h, sizeof(bits));
  return bits;
}

float from_half(uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, sizeof(bits));
  return static_cast<float>(h);
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
