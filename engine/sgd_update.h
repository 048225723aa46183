// Parameter update rules over the Net's contiguous buffers: gradient scaling
// for iter_size, global-norm clipping, L1/L2 regularisation and the SGD,
// Nesterov, AdaGrad, RMSProp, AdaDelta and Adam steps in Caffe's forms.  Everything works on raw
// float arrays plus one small descriptor per parameter, so the GPU backend
// can mirror each function with one fused kernel over all parameters.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/config.h"
#include "engine/core/status.h"
#include "engine/net.h"

namespace banyan {

// One parameter's slice of the contiguous buffers.  The same offset indexes
// the parameter values, their gradients and every history array.
struct UpdateSpan {
  int64_t offset = 0;  // floats
  int64_t count = 0;
  float lr_mult = 1.0f;
  float decay_mult = 1.0f;
};

// The hyper-parameters of one update step, shared by all spans.
struct UpdateRule {
  SolverConfig::Type type = SolverConfig::Type::kSgd;
  float lr = 0.0f;           // the policy's rate for this iteration
  float momentum = 0.0f;     // SGD / Nesterov momentum; Adam's beta1; AdaDelta's decay
  float momentum2 = 0.999f;  // Adam's beta2
  float delta = 1e-8f;       // AdaGrad / RMSProp / AdaDelta / Adam epsilon
  float rms_decay = 0.99f;   // RMSProp
  float weight_decay = 0.0f;
  bool l1 = false;        // regularization_type "L1" (else L2)
  int64_t iteration = 0;  // Adam's bias correction uses t = iteration + 1
};

// Checks the update fields of `config`: iter_size >= 1, momentum in [0, 1)
// (and 0 for AdaGrad and RMSProp), momentum2 and rms_decay in [0, 1) and
// delta > 0 where used,
// weight_decay >= 0, regularization_type L1 or L2.  InvalidArgument naming
// the solver file, the field and the value.
Status validate_update_config(const SolverConfig& config);

// The rule for iteration `iteration` at learning rate `lr`.
UpdateRule make_update_rule(const SolverConfig& config, float lr, int64_t iteration);

// History arrays kept per parameter: 2 for Adam (m, v) and AdaDelta (the
// running means of g^2 and of the update^2), else 1.
int history_slots(SolverConfig::Type type);
const char* solver_type_name(SolverConfig::Type type);

// The parameters the solver updates, in buffer order: those with
// learnable = true and lr_mult != 0.
std::vector<UpdateSpan> update_spans_for(const std::vector<NetParam>& params);

// diff *= scale over every span (Caffe's Normalize for iter_size: scale = 1 / iter_size).
void scale_diffs(const std::vector<UpdateSpan>& spans, float scale, float* diff);

// The L2 norm of the gradients of all spans, accumulated in double.
double diff_norm(const std::vector<UpdateSpan>& spans, const float* diff);

// When clip > 0 and the global L2 norm of the spans' gradients exceeds it,
// scales them all by clip / norm and logs it.  clip <= 0 disables clipping.
// Returns the norm before clipping (0 when disabled, without computing it).
double clip_gradients(const std::vector<UpdateSpan>& spans, float clip, float* diff);

// One update of one span.  `data`, `diff`, `history0` and `history1` are the
// buffer bases (span.offset is applied here); history1 is used by Adam and
// AdaDelta only and may be null otherwise.  With lr = rule.lr * lr_mult, decay =
// rule.weight_decay * decay_mult and g = diff + decay * w (L2) or
// diff + decay * sign(w) (L1), per element:
//   SGD       v = momentum * v + lr * g;                 w -= v
//   Nesterov  v' = momentum * v + lr * g;                w -= (1 + momentum) * v' - momentum * v
//   AdaGrad   h += g * g;                                w -= lr * g / (sqrt(h) + delta)
//   RMSProp   h = rms_decay * h + (1 - rms_decay) * g * g;   w -= lr * g / (sqrt(h) + delta)
//   AdaDelta  h = m * h + (1 - m) * g * g;  u = g * sqrt((x + delta) / (h + delta));
//             x = m * x + (1 - m) * u * u;  w -= lr * u       (m = momentum, x = history1)
//   Adam      m = b1 * m + (1 - b1) * g;  s = b2 * s + (1 - b2) * g * g;
//             w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(s) + delta),  t = iteration + 1
// `diff` is read only.
void apply_update(const UpdateRule& rule, const UpdateSpan& span, float* data, const float* diff,
                  float* history0, float* history1);

// ApplyUpdate for every span.
void apply_updates(const UpdateRule& rule, const std::vector<UpdateSpan>& spans, float* data,
                   const float* diff, float* history0, float* history1);

}  // namespace banyan
