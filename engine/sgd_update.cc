// CPU reference of the update rules; one pass per parameter over (data, diff,
// history), arithmetic in float as the GPU kernels will do it, each span
// split among the calling thread's OpenMP team (use_cpu_threads).
#include "engine/sgd_update.h"

#include <glog/logging.h>

#include <cmath>
#include <string>

#include "engine/core/parallel.h"

namespace banyan {
namespace {

Status invalid(const SolverConfig& c, const std::string& message) {
  return Status::invalid_argument((c.source_file.empty() ? std::string("solver") : c.source_file) +
                                  ": " + message);
}

// The regularised gradient of one element.
inline float gradient(float g, float w, float decay, bool l1) {
  if (decay == 0.0f) return g;
  if (!l1) return g + decay * w;
  const float sign = w > 0.0f ? 1.0f : (w < 0.0f ? -1.0f : 0.0f);
  return g + decay * sign;
}

void sgd_span(int64_t n, float lr, float decay, bool l1, float momentum, float* w, const float* g,
              float* v) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    v[i] = momentum * v[i] + lr * gradient(g[i], w[i], decay, l1);
    w[i] -= v[i];
  }
}

void nesterov_span(int64_t n, float lr, float decay, bool l1, float momentum, float* w,
                   const float* g, float* v) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float v_old = v[i];
    v[i] = momentum * v[i] + lr * gradient(g[i], w[i], decay, l1);
    w[i] -= (1.0f + momentum) * v[i] - momentum * v_old;
  }
}

void ada_grad_span(int64_t n, float lr, float decay, bool l1, float delta, float* w, const float* g,
                   float* h) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float gi = gradient(g[i], w[i], decay, l1);
    h[i] += gi * gi;
    w[i] -= lr * (gi / (std::sqrt(h[i]) + delta));
  }
}

void rms_prop_span(int64_t n, float lr, float decay, bool l1, float rms_decay, float delta,
                   float* w, const float* g, float* h) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float gi = gradient(g[i], w[i], decay, l1);
    h[i] = (1.0f - rms_decay) * (gi * gi) + rms_decay * h[i];
    w[i] -= lr * (gi / (std::sqrt(h[i]) + delta));
  }
}

void ada_delta_span(int64_t n, const UpdateRule& r, float lr, float decay, float* w, const float* g,
                    float* h, float* x) {
  const float m = r.momentum;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float gi = gradient(g[i], w[i], decay, r.l1);
    h[i] = (1.0f - m) * (gi * gi) + m * h[i];
    const float u = gi * std::sqrt((x[i] + r.delta) / (h[i] + r.delta));
    x[i] = (1.0f - m) * (u * u) + m * x[i];
    w[i] -= lr * u;
  }
}

void adam_span(int64_t n, const UpdateRule& r, float lr, float decay, float* w, const float* g,
               float* m, float* s) {
  const double t = static_cast<double>(r.iteration) + 1.0;
  const float step = static_cast<float>(lr * std::sqrt(1.0 - std::pow(r.momentum2, t)) /
                                        (1.0 - std::pow(r.momentum, t)));
  const float b1 = r.momentum, b2 = r.momentum2;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float gi = gradient(g[i], w[i], decay, r.l1);
    m[i] = b1 * m[i] + (1.0f - b1) * gi;
    s[i] = b2 * s[i] + (1.0f - b2) * gi * gi;
    w[i] -= step * (m[i] / (std::sqrt(s[i]) + r.delta));
  }
}

}  // namespace

Status validate_update_config(const SolverConfig& c) {
  if (c.iter_size < 1) {
    return invalid(c, "iter_size must be >= 1, got " + std::to_string(c.iter_size));
  }
  if (!(c.momentum >= 0.0f && c.momentum < 1.0f)) {
    return invalid(c, "momentum must lie in [0, 1), got " + std::to_string(c.momentum));
  }
  if (c.type == SolverConfig::Type::kAdaGrad && c.momentum != 0.0f) {
    return invalid(c, "type AdaGrad takes no momentum, got momentum " + std::to_string(c.momentum));
  }
  if (c.type == SolverConfig::Type::kRmsProp && c.momentum != 0.0f) {
    return invalid(c, "type RMSProp takes no momentum (rms_decay is its decay), got momentum " +
                          std::to_string(c.momentum));
  }
  if (c.type == SolverConfig::Type::kRmsProp && !(c.rms_decay >= 0.0f && c.rms_decay < 1.0f)) {
    return invalid(c, "rms_decay must lie in [0, 1), got " + std::to_string(c.rms_decay));
  }
  if (c.type == SolverConfig::Type::kAdam && !(c.momentum2 >= 0.0f && c.momentum2 < 1.0f)) {
    return invalid(
        c, "momentum2 (Adam's beta2) must lie in [0, 1), got " + std::to_string(c.momentum2));
  }
  if (c.type != SolverConfig::Type::kSgd && c.type != SolverConfig::Type::kNesterov &&
      !(c.delta > 0.0f)) {
    return invalid(c, "delta must be > 0 for type " + std::string(solver_type_name(c.type)) +
                          ", got " + std::to_string(c.delta));
  }
  if (!(c.weight_decay >= 0.0f)) {
    return invalid(c, "weight_decay must be >= 0, got " + std::to_string(c.weight_decay));
  }
  if (c.regularization_type != "L1" && c.regularization_type != "L2") {
    return invalid(c, "regularization_type must be L1 or L2, got '" + c.regularization_type + "'");
  }
  return Status::success();
}

UpdateRule make_update_rule(const SolverConfig& c, float lr, int64_t iteration) {
  UpdateRule r;
  r.type = c.type;
  r.lr = lr;
  r.momentum = c.momentum;
  r.momentum2 = c.momentum2;
  r.delta = c.delta;
  r.rms_decay = c.rms_decay;
  r.weight_decay = c.weight_decay;
  r.l1 = c.regularization_type == "L1";
  r.iteration = iteration;
  return r;
}

int history_slots(SolverConfig::Type type) {
  return type == SolverConfig::Type::kAdam || type == SolverConfig::Type::kAdaDelta ? 2 : 1;
}

const char* solver_type_name(SolverConfig::Type type) {
  switch (type) {
    case SolverConfig::Type::kSgd:
      return "SGD";
    case SolverConfig::Type::kNesterov:
      return "Nesterov";
    case SolverConfig::Type::kAdaGrad:
      return "AdaGrad";
    case SolverConfig::Type::kAdam:
      return "Adam";
    case SolverConfig::Type::kRmsProp:
      return "RMSProp";
    case SolverConfig::Type::kAdaDelta:
      return "AdaDelta";
  }
  return "unknown";
}

std::vector<UpdateSpan> update_spans_for(const std::vector<NetParam>& params) {
  std::vector<UpdateSpan> spans;
  for (const NetParam& p : params) {
    if (!p.learnable || p.lr_mult == 0.0f) continue;
    spans.push_back({p.offset, p.blob->count(), p.lr_mult, p.decay_mult});
  }
  return spans;
}

void scale_diffs(const std::vector<UpdateSpan>& spans, float scale, float* diff) {
  for (const UpdateSpan& s : spans) {
    float* d = diff + s.offset;
    parallel_for(s.count, 2, 16, [=](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) d[i] *= scale;
    });
  }
}

double diff_norm(const std::vector<UpdateSpan>& spans, const float* diff) {
  double sum = 0.0;
  for (const UpdateSpan& s : spans) {
    const float* d = diff + s.offset;
    for (int64_t i = 0; i < s.count; ++i) sum += static_cast<double>(d[i]) * d[i];
  }
  return std::sqrt(sum);
}

double clip_gradients(const std::vector<UpdateSpan>& spans, float clip, float* diff) {
  if (!(clip > 0.0f)) return 0.0;
  const double norm = diff_norm(spans, diff);
  if (norm > clip) {
    const float scale = static_cast<float>(clip / norm);
    LOG(INFO) << "Gradient clipping: scaling down gradients (L2 norm " << norm << " > " << clip
              << ") by scale factor " << scale;
    scale_diffs(spans, scale, diff);
  }
  return norm;
}

void apply_update(const UpdateRule& rule, const UpdateSpan& span, float* data, const float* diff,
                  float* history0, float* history1) {
  const float lr = rule.lr * span.lr_mult;
  const float decay = rule.weight_decay * span.decay_mult;
  CHECK(history_slots(rule.type) < 2 || history1 != nullptr)
      << solver_type_name(rule.type) << " needs a second history array";
  // Elementwise: the calling thread's team splits the span, each element
  // updated by one thread, so the result does not depend on the count.
  parallel_for(span.count, 4, 16, [&](int64_t begin, int64_t end) {
    const int64_t at = span.offset + begin, n = end - begin;
    float* w = data + at;
    const float* g = diff + at;
    float* h0 = history0 + at;
    switch (rule.type) {
      case SolverConfig::Type::kSgd:
        sgd_span(n, lr, decay, rule.l1, rule.momentum, w, g, h0);
        break;
      case SolverConfig::Type::kNesterov:
        nesterov_span(n, lr, decay, rule.l1, rule.momentum, w, g, h0);
        break;
      case SolverConfig::Type::kAdaGrad:
        ada_grad_span(n, lr, decay, rule.l1, rule.delta, w, g, h0);
        break;
      case SolverConfig::Type::kAdam:
        adam_span(n, rule, lr, decay, w, g, h0, history1 + at);
        break;
      case SolverConfig::Type::kRmsProp:
        rms_prop_span(n, lr, decay, rule.l1, rule.rms_decay, rule.delta, w, g, h0);
        break;
      case SolverConfig::Type::kAdaDelta:
        ada_delta_span(n, rule, lr, decay, w, g, h0, history1 + at);
        break;
    }
  });
}

void apply_updates(const UpdateRule& rule, const std::vector<UpdateSpan>& spans, float* data,
                   const float* diff, float* history0, float* history1) {
  for (const UpdateSpan& s : spans) apply_update(rule, s, data, diff, history0, history1);
}

}  // namespace banyan
