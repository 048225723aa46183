// Tests of the update rules against a two-step reference computed here in
// double, with per-parameter lr_mult / decay_mult, L1 and L2, plus gradient
// scaling, clipping, the choice of updated parameters and validation.
#include "engine/sgd_update.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

namespace banyan {
namespace {

using Type = SolverConfig::Type;

constexpr int64_t kFloats = 48;

// Three spans with different multipliers; the gaps between them (and the
// tail) belong to no span and must never change.
std::vector<UpdateSpan> spans() {
  return {{0, 5, 1.0f, 1.0f}, {16, 3, 2.0f, 0.0f}, {32, 4, 0.5f, 2.0f}};
}

float value(int64_t i, int salt) {
  return static_cast<float>(std::sin(0.7 * i + 1.3 * salt) * (1.0 + 0.1 * salt));
}

struct Reference {
  double w = 0.0, h0 = 0.0, h1 = 0.0;
};

// One step of `type` on one element, in double, straight from the formulas.
void reference_step(Type type, double lr, double decay, bool l1, double g, int64_t iter,
                    Reference* r) {
  const double m = type == Type::kAdaDelta ? 0.95 : 0.9, b2 = 0.999, eps = 1e-3, rms = 0.98;
  const double sign = r->w > 0 ? 1.0 : (r->w < 0 ? -1.0 : 0.0);
  g += decay * (l1 ? sign : r->w);
  if (type == Type::kSgd) {
    r->h0 = m * r->h0 + lr * g;
    r->w -= r->h0;
  } else if (type == Type::kNesterov) {
    const double old = r->h0;
    r->h0 = m * r->h0 + lr * g;
    r->w -= (1 + m) * r->h0 - m * old;
  } else if (type == Type::kAdaGrad) {
    r->h0 += g * g;
    r->w -= lr * g / (std::sqrt(r->h0) + eps);
  } else if (type == Type::kRmsProp) {
    r->h0 = rms * r->h0 + (1 - rms) * g * g;
    r->w -= lr * g / (std::sqrt(r->h0) + eps);
  } else if (type == Type::kAdaDelta) {
    r->h0 = m * r->h0 + (1 - m) * g * g;
    const double u = g * std::sqrt((r->h1 + eps) / (r->h0 + eps));
    r->h1 = m * r->h1 + (1 - m) * u * u;
    r->w -= lr * u;
  } else {
    const double t = iter + 1.0;
    r->h0 = m * r->h0 + (1 - m) * g;
    r->h1 = b2 * r->h1 + (1 - b2) * g * g;
    r->w -= lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(m, t)) * r->h0 /
            (std::sqrt(r->h1) + eps);
  }
}

UpdateRule rule(Type type, bool l1, float lr, int64_t iter) {
  SolverConfig c;
  c.type = type;
  c.momentum = type == Type::kAdaGrad || type == Type::kRmsProp
                   ? 0.0f
                   : (type == Type::kAdaDelta ? 0.95f : 0.9f);
  c.rms_decay = 0.98f;
  c.momentum2 = 0.999f;
  c.delta = 1e-3f;
  c.weight_decay = 0.05f;
  c.regularization_type = l1 ? "L1" : "L2";
  EXPECT_TRUE(validate_update_config(c).ok());
  return make_update_rule(c, lr, iter);
}

void check_two_steps(Type type, bool l1) {
  std::vector<float> w(kFloats), g(kFloats), h0(kFloats, 0.0f), h1(kFloats, 0.0f);
  for (int64_t i = 0; i < kFloats; ++i) w[i] = value(i, 0);
  w[2] = 0.0f;  // sign(0) = 0 under L1
  const std::vector<float> w_start = w;
  const float lrs[2] = {0.1f, 0.05f};
  for (int step = 0; step < 2; ++step) {
    for (int64_t i = 0; i < kFloats; ++i) g[i] = value(i, step + 1);
    apply_updates(rule(type, l1, lrs[step], step), spans(), w.data(), g.data(), h0.data(),
                  history_slots(type) == 2 ? h1.data() : nullptr);
  }
  std::vector<bool> covered(kFloats, false);
  for (const UpdateSpan& s : spans()) {
    for (int64_t i = s.offset; i < s.offset + s.count; ++i) {
      covered[i] = true;
      Reference r;
      r.w = w_start[i];
      for (int step = 0; step < 2; ++step) {
        reference_step(type, lrs[step] * s.lr_mult, 0.05 * s.decay_mult, l1, value(i, step + 1),
                       step, &r);
      }
      EXPECT_NEAR(w[i], r.w, 1e-5 * std::max(1.0, std::fabs(r.w)))
          << solver_type_name(type) << (l1 ? " L1" : " L2") << " element " << i;
      EXPECT_NE(w[i], w_start[i]) << "element " << i << " did not move";
    }
  }
  for (int64_t i = 0; i < kFloats; ++i) {
    if (!covered[i]) {
      EXPECT_EQ(w[i], w_start[i]) << "element " << i << " outside every span";
    }
  }
}

TEST(SgdUpdateTest, SgdMomentumMatchesReference) {
  check_two_steps(Type::kSgd, false);
  check_two_steps(Type::kSgd, true);
}

TEST(SgdUpdateTest, NesterovMatchesReference) {
  check_two_steps(Type::kNesterov, false);
  check_two_steps(Type::kNesterov, true);
}

TEST(SgdUpdateTest, AdaGradMatchesReference) {
  check_two_steps(Type::kAdaGrad, false);
  check_two_steps(Type::kAdaGrad, true);
}

TEST(SgdUpdateTest, AdamMatchesReference) {
  check_two_steps(Type::kAdam, false);
  check_two_steps(Type::kAdam, true);
}

TEST(SgdUpdateTest, RmsPropMatchesReference) {
  check_two_steps(Type::kRmsProp, false);
  check_two_steps(Type::kRmsProp, true);
}

TEST(SgdUpdateTest, AdaDeltaMatchesReference) {
  check_two_steps(Type::kAdaDelta, false);
  check_two_steps(Type::kAdaDelta, true);
}

TEST(SgdUpdateTest, L1AndL2Differ) {
  // One plain SGD step without momentum from w = 3: L2 adds decay * 3, L1 adds decay * 1.
  for (bool l1 : {false, true}) {
    float w = 3.0f, g = 0.5f, h = 0.0f;
    UpdateRule r = rule(Type::kSgd, l1, 0.1f, 0);
    r.momentum = 0.0f;
    r.weight_decay = 0.2f;
    apply_update(r, {0, 1, 1.0f, 1.0f}, &w, &g, &h, nullptr);
    const double expected = 3.0 - 0.1 * (0.5 + 0.2 * (l1 ? 1.0 : 3.0));
    EXPECT_NEAR(w, expected, 1e-6) << (l1 ? "L1" : "L2");
  }
}

TEST(SgdUpdateTest, SpansSkipFrozenAndNonLearnableParameters) {
  std::vector<std::unique_ptr<Blob>> blobs;
  std::vector<NetParam> params;
  const float lr_mults[] = {1.0f, 0.0f, 1.0f, 2.0f};
  const bool learnable[] = {true, true, false, true};
  int64_t offset = 0;
  for (int i = 0; i < 4; ++i) {
    blobs.push_back(std::make_unique<Blob>("p" + std::to_string(i)));
    blobs.back()->set_shape(Shape{2, i + 1});
    NetParam p;
    p.name = "layer/" + std::to_string(i);
    p.blob = blobs.back().get();
    p.lr_mult = lr_mults[i];
    p.decay_mult = 0.5f * i;
    p.learnable = learnable[i];
    p.offset = offset;
    offset += 16;
    params.push_back(p);
  }
  std::vector<UpdateSpan> spans = update_spans_for(params);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].offset, 0);
  EXPECT_EQ(spans[0].count, 2);
  EXPECT_EQ(spans[1].offset, 48);
  EXPECT_EQ(spans[1].count, 8);
  EXPECT_FLOAT_EQ(spans[1].lr_mult, 2.0f);
  EXPECT_FLOAT_EQ(spans[1].decay_mult, 1.5f);
}

TEST(SgdUpdateTest, ScaleDiffsNormalisesOnlySpans) {
  std::vector<float> d(kFloats);
  for (int64_t i = 0; i < kFloats; ++i) d[i] = value(i, 4);
  const std::vector<float> before = d;
  scale_diffs(spans(), 1.0f / 3.0f, d.data());
  for (int64_t i = 0; i < kFloats; ++i) {
    const bool in = i < 5 || (i >= 16 && i < 19) || (i >= 32 && i < 36);
    EXPECT_FLOAT_EQ(d[i], in ? before[i] * (1.0f / 3.0f) : before[i]) << i;
  }
}

TEST(SgdUpdateTest, ClipGradientsScalesToTheGlobalNorm) {
  std::vector<float> d(kFloats);
  for (int64_t i = 0; i < kFloats; ++i) d[i] = value(i, 5);
  const std::vector<float> before = d;
  double expected_norm = 0.0;
  for (const UpdateSpan& s : spans()) {
    for (int64_t i = s.offset; i < s.offset + s.count; ++i) expected_norm += before[i] * before[i];
  }
  expected_norm = std::sqrt(expected_norm);
  // Above the norm and disabled: unchanged.
  EXPECT_NEAR(clip_gradients(spans(), static_cast<float>(expected_norm * 2), d.data()),
              expected_norm, 1e-6);
  EXPECT_EQ(clip_gradients(spans(), -1.0f, d.data()), 0.0);
  EXPECT_EQ(d, before);
  // Below: every span scaled by clip / norm, the rest untouched.
  const float clip = static_cast<float>(expected_norm / 4);
  EXPECT_NEAR(clip_gradients(spans(), clip, d.data()), expected_norm, 1e-6);
  EXPECT_NEAR(diff_norm(spans(), d.data()), clip, 1e-5 * clip);
  EXPECT_NEAR(d[3], before[3] / 4, 1e-6);
  EXPECT_EQ(d[10], before[10]);
}

TEST(SgdUpdateTest, ValidationNamesTheField) {
  auto expect = [](SolverConfig c, const std::string& field) {
    c.source_file = "s.prototxt";
    Status s = validate_update_config(c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << field;
    EXPECT_NE(s.message().find(field), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("s.prototxt"), std::string::npos) << s.message();
  };
  SolverConfig c;
  c.iter_size = 0;
  expect(c, "iter_size");
  c = SolverConfig();
  c.type = Type::kAdaGrad;
  c.momentum = 0.9f;
  expect(c, "momentum");
  c = SolverConfig();
  c.momentum = 1.0f;
  expect(c, "momentum");
  c = SolverConfig();
  c.regularization_type = "L3";
  expect(c, "regularization_type");
  c = SolverConfig();
  c.type = Type::kAdam;
  c.momentum2 = 1.5f;
  expect(c, "momentum2");
  c = SolverConfig();
  c.weight_decay = -1.0f;
  expect(c, "weight_decay");
  c = SolverConfig();
  c.type = Type::kRmsProp;
  c.momentum = 0.9f;
  expect(c, "momentum");
  c = SolverConfig();
  c.type = Type::kRmsProp;
  c.rms_decay = 1.0f;
  expect(c, "rms_decay");
  c = SolverConfig();
  c.type = Type::kAdaDelta;
  c.delta = 0.0f;
  expect(c, "delta");
  EXPECT_EQ(history_slots(Type::kAdam), 2);
  EXPECT_EQ(history_slots(Type::kAdaDelta), 2);
  EXPECT_EQ(history_slots(Type::kRmsProp), 1);
  EXPECT_EQ(history_slots(Type::kNesterov), 1);
}

}  // namespace
}  // namespace banyan
