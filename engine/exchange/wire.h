// 16-bit gradients on the wire between processes (exchange_precision):
// conversion of a float buffer to BF16 or FP16 and back, and the addition
// the cross-process reduction applies at each step (widen both operands to
// FP32, add, round back).  BF16 keeps FP32's range with an 8-bit mantissa
// (relative rounding error <= 2^-8); FP16 has an 11-bit mantissa (2^-11)
// but a range of +-65504 (values beyond saturate, instead of becoming
// infinity) and loses magnitudes below 2^-24 to zero.  Both round to
// nearest even.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/core/config.h"

namespace banyan {

// `wire` must be kBf16 or kFp16 in all of these.
uint16_t to_wire(float x, WirePrecision wire);
float from_wire(uint16_t x, WirePrecision wire);
void to_wire(const float* in, size_t n, WirePrecision wire, uint16_t* out);
void from_wire(const uint16_t* in, size_t n, WirePrecision wire, float* out);
// inout[i] = to_wire(from_wire(in[i]) + from_wire(inout[i])).
void add_on_wire(const uint16_t* in, uint16_t* inout, size_t n, WirePrecision wire);

const char* wire_precision_name(WirePrecision wire);  // "FP32", "BF16", "FP16"

}  // namespace banyan
