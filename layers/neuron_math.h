// The elementwise ("neuron") functions and their derivatives, written once
// for the CPU loops (neuron.cc) and the CUDA kernels (neuron.cu), so both
// compute the same expressions.  Each backward takes the input x, the
// output y and dy, and returns dx; ops that read only y may run in place.
#pragma once

#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define BANYAN_HD __host__ __device__ __forceinline__
#else
#define BANYAN_HD inline
#endif

namespace banyan {

enum class NeuronOp {
  kSigmoid,
  kTanH,
  kAbsVal,
  kBnll,
  kElu,
  kExp,
  kLog,
  kPower,
  kThreshold,
  kClip,
  kSwish
};

// The op's constants, from NeuronConfig: Exp/Log's base folded into
// log_base = ln(base) (1 for e); Power/Exp/Log's scale and shift.
struct NeuronArgs {
  float alpha = 1.0f, log_base = 1.0f, scale = 1.0f, shift = 0.0f, power = 1.0f;
  float threshold = 0.0f;
  float clip_min = 0.0f, clip_max = 0.0f;  // Clip
  float beta = 1.0f;                       // Swish: x * sigmoid(beta x)
};

// BNLL: log(1 + e^x) computed without overflow (Caffe's form).
constexpr float kBnllThreshold = 50.0f;

template <NeuronOp kOp>
BANYAN_HD float neuron_forward(float x, const NeuronArgs& a) {
  if constexpr (kOp == NeuronOp::kSigmoid) return 0.5f * tanhf(0.5f * x) + 0.5f;
  if constexpr (kOp == NeuronOp::kTanH) return tanhf(x);
  if constexpr (kOp == NeuronOp::kAbsVal) return fabsf(x);
  if constexpr (kOp == NeuronOp::kBnll) {
    return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
  }
  if constexpr (kOp == NeuronOp::kElu) return x > 0.0f ? x : a.alpha * expm1f(x);
  if constexpr (kOp == NeuronOp::kExp) return expf(a.log_base * (a.shift + a.scale * x));
  if constexpr (kOp == NeuronOp::kLog) return logf(a.shift + a.scale * x) / a.log_base;
  if constexpr (kOp == NeuronOp::kPower) return powf(a.shift + a.scale * x, a.power);
  if constexpr (kOp == NeuronOp::kThreshold) return x > a.threshold ? 1.0f : 0.0f;
  if constexpr (kOp == NeuronOp::kClip) return fmaxf(a.clip_min, fminf(x, a.clip_max));
  if constexpr (kOp == NeuronOp::kSwish) return x * (0.5f * tanhf(0.5f * a.beta * x) + 0.5f);
  return 0.0f;
}

template <NeuronOp kOp>
BANYAN_HD float neuron_backward(float x, float y, float dy, const NeuronArgs& a) {
  if constexpr (kOp == NeuronOp::kSigmoid) return dy * y * (1.0f - y);
  if constexpr (kOp == NeuronOp::kTanH) return dy * (1.0f - y * y);
  if constexpr (kOp == NeuronOp::kAbsVal) return x > 0.0f ? dy : (x < 0.0f ? -dy : 0.0f);
  if constexpr (kOp == NeuronOp::kBnll) {
    const float e = expf(fminf(x, kBnllThreshold));
    return dy * e / (e + 1.0f);
  }
  if constexpr (kOp == NeuronOp::kElu) return x > 0.0f ? dy : dy * (y + a.alpha);
  if constexpr (kOp == NeuronOp::kExp) return dy * y * a.log_base * a.scale;
  if constexpr (kOp == NeuronOp::kLog) return dy * a.scale / ((a.shift + a.scale * x) * a.log_base);
  if constexpr (kOp == NeuronOp::kPower) {
    // d/dx (s + k x)^p = p k (s + k x)^(p - 1); p = 0 and k = 0 give 0.
    if (a.power == 0.0f || a.scale == 0.0f) return 0.0f;
    return dy * a.power * a.scale * powf(a.shift + a.scale * x, a.power - 1.0f);
  }
  // Clip: the gradient passes where x lies in [min, max] (Caffe's rule at the ends).
  if constexpr (kOp == NeuronOp::kClip) return x >= a.clip_min && x <= a.clip_max ? dy : 0.0f;
  if constexpr (kOp == NeuronOp::kSwish) {
    // d/dx x s(bx) = s(bx) + b y (1 - s(bx)), s the sigmoid
    const float s = 0.5f * tanhf(0.5f * a.beta * x) + 0.5f;
    return dy * (s + a.beta * y * (1.0f - s));
  }
  return 0.0f;  // Threshold: zero almost everywhere
}

// Expands `CALL(kOp)` for the op known at run time.
#define BANYAN_NEURON_SWITCH(op, CALL) \
  switch (op) {                        \
    case NeuronOp::kSigmoid:           \
      CALL(NeuronOp::kSigmoid);        \
      break;                           \
    case NeuronOp::kTanH:              \
      CALL(NeuronOp::kTanH);           \
      break;                           \
    case NeuronOp::kAbsVal:            \
      CALL(NeuronOp::kAbsVal);         \
      break;                           \
    case NeuronOp::kBnll:              \
      CALL(NeuronOp::kBnll);           \
      break;                           \
    case NeuronOp::kElu:               \
      CALL(NeuronOp::kElu);            \
      break;                           \
    case NeuronOp::kExp:               \
      CALL(NeuronOp::kExp);            \
      break;                           \
    case NeuronOp::kLog:               \
      CALL(NeuronOp::kLog);            \
      break;                           \
    case NeuronOp::kPower:             \
      CALL(NeuronOp::kPower);          \
      break;                           \
    case NeuronOp::kThreshold:         \
      CALL(NeuronOp::kThreshold);      \
      break;                           \
    case NeuronOp::kClip:              \
      CALL(NeuronOp::kClip);           \
      break;                           \
    case NeuronOp::kSwish:             \
      CALL(NeuronOp::kSwish);          \
      break;                           \
  }

}  // namespace banyan
