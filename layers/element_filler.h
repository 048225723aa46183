// A filler's value for one element as a pure function of (key, element
// index): fill_param's formulas (layers/filler.h) written per element, so a
// CUDA kernel can fill on the device exactly what the CPU fills (DummyData).
// The device uses round-to-nearest multiplies and adds (no fused multiply-add),
// so only the transcendental functions of the normal draw differ by an ulp.
#pragma once

#include <cstdint>

#include "engine/core/config.h"
#include "engine/core/random.h"
#include "engine/core/shape.h"
#include "engine/core/status.h"

namespace banyan {

struct ElementFiller {
  enum class Kind {
    kConstant,   // a
    kUniform,    // a + b * u
    kSymmetric,  // a * (2u - 1)
    kNormal,     // a + b * n
  };
  Kind kind = Kind::kConstant;
  float a = 0.0f, b = 0.0f;
  // >= 0: Caffe's sparse gaussian, each value kept with this probability.
  float keep = -1.0f;
};

// The plan of `filler` for a blob of `shape` (xavier and msra take their fan
// from it, sparse its first dimension).  InvalidArgument naming the filler
// type for an unknown type or a shape the filler cannot use.
Status plan_element_filler(const FillerConfig& filler, const Shape& shape, ElementFiller* out);

BANYAN_HD inline float filler_mul(float x, float y) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(x, y);
#else
  return x * y;
#endif
}

BANYAN_HD inline float filler_add(float x, float y) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(x, y);
#else
  return x + y;
#endif
}

// Element `i` of a blob filled by `f` under `key` (fill_param's value).
BANYAN_HD inline float element_fill(const ElementFiller& f, uint64_t key, uint64_t i) {
  float x = f.a;
  switch (f.kind) {
    case ElementFiller::Kind::kConstant:
      return f.a;
    case ElementFiller::Kind::kUniform:
      x = filler_add(f.a, filler_mul(f.b, uniform_at(key, 0, i)));
      break;
    case ElementFiller::Kind::kSymmetric:
      x = filler_mul(f.a, filler_add(2.0f * uniform_at(key, 0, i), -1.0f));
      break;
    case ElementFiller::Kind::kNormal:
      x = filler_add(f.a, filler_mul(f.b, normal_at(key, 0, i)));
      break;
  }
  if (f.keep >= 0.0f && uniform_at(key, 1, i) >= f.keep) x = 0.0f;
  return x;
}

}  // namespace banyan
