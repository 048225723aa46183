// The fused solver kernels against engine/sgd_update.h on the CPU: all four
// solver types with L2 and L1 decay and per-span lr_mult / decay_mult over a
// buffer with gaps (which must stay untouched), three steps each; then
// iter_size scaling, the clipping norm and factor computed on the device, and
// the update with the fused gradient scale.
#include "cuda/sgd_update.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "cuda/reduce.h"
#include "engine/sgd_update.h"
#include "tests/cuda/cuda_test_util.h"

namespace banyan::cuda_testing {
namespace {

using Type = SolverConfig::Type;

constexpr int64_t kFloats = 7000;

// Spans with different multipliers, an empty span, gaps between them and an
// untouched tail.
std::vector<UpdateSpan> engine_spans() {
  return {{0, 1000, 1.0f, 1.0f},
          {1024, 37, 2.0f, 0.0f},
          {1088, 0, 1.0f, 1.0f},
          {1100, 5000, 0.5f, 2.0f},
          {6112, 3, 1.0f, 1.0f}};
}

cuda::SolverKind kind_of(Type t) {
  switch (t) {
    case Type::kSgd:
      return cuda::SolverKind::kSgd;
    case Type::kNesterov:
      return cuda::SolverKind::kNesterov;
    case Type::kAdaGrad:
      return cuda::SolverKind::kAdaGrad;
    case Type::kAdam:
      return cuda::SolverKind::kAdam;
    case Type::kRmsProp:
      return cuda::SolverKind::kRmsProp;
    case Type::kAdaDelta:
      return cuda::SolverKind::kAdaDelta;
  }
  return cuda::SolverKind::kSgd;
}

cuda::UpdateHyper hyper_of(const UpdateRule& r) {
  cuda::UpdateHyper h;
  h.type = kind_of(r.type);
  h.lr = r.lr;
  h.momentum = r.momentum;
  h.momentum2 = r.momentum2;
  h.delta = r.delta;
  h.rms_decay = r.rms_decay;
  h.weight_decay = r.weight_decay;
  h.l1 = r.l1;
  h.iteration = r.iteration;
  return h;
}

int64_t ulps(float a, float b) {
  auto ordered = [](float f) {
    const int64_t u = bits_of(f);
    return (u & 0x80000000) ? -(u & 0x7fffffff) : u;
  };
  return std::llabs(ordered(a) - ordered(b));
}

// Within `max_ulps` (in the default build GPU and CPU agree bitwise), or
// within 1e-6 absolute for values that a subtraction brought near zero, where
// one rounding step upstream spans many ulps.  Gaps are untouched by both.
void expect_ulps(const char* what, const std::vector<float>& got, const std::vector<float>& want,
                 int64_t max_ulps) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << what << " element " << i;
    if (max_ulps > 0 && std::abs(got[i] - want[i]) <= 1e-6f) continue;
    ASSERT_LE(ulps(got[i], want[i]), max_ulps)
        << what << " element " << i << ": " << got[i] << " vs " << want[i];
  }
}

class SgdUpdateTest : public GpuTest {
 protected:
  cuda::UpdateSpanTable table() {
    std::vector<cuda::UpdateSpanDevice> spans;
    for (const UpdateSpan& s : engine_spans()) {
      cuda::UpdateSpanDevice d;
      d.offset = s.offset;
      d.count = s.count;
      d.lr_mult = s.lr_mult;
      d.decay_mult = s.decay_mult;
      spans.push_back(d);
    }
    cuda::UpdateSpanTable t;
    std::string error;
    EXPECT_TRUE(t.upload(0, spans, stream(), &error)) << error;
    return t;
  }
};

TEST_F(SgdUpdateTest, SpanTablePacksSpans) {
  cuda::UpdateSpanTable t = table();
  EXPECT_EQ(t.num_spans(), 5);
  EXPECT_EQ(t.total(), 1000 + 37 + 5000 + 3);
}

TEST_F(SgdUpdateTest, AllSolversMatchTheCpu) {
  const std::vector<UpdateSpan> spans = engine_spans();
  cuda::UpdateSpanTable t = table();
  for (Type type : {Type::kSgd, Type::kNesterov, Type::kAdaGrad, Type::kAdam, Type::kRmsProp,
                    Type::kAdaDelta}) {
    for (bool l1 : {false, true}) {
      SCOPED_TRACE(std::string(solver_type_name(type)) + (l1 ? " L1" : " L2"));
      // History starts non-negative where it is a sum of squares.
      const bool squares =
          type == Type::kAdaGrad || type == Type::kRmsProp || type == Type::kAdaDelta;
      const bool two = history_slots(type) == 2;
      std::vector<float> w = random_floats(kFloats, 1), h0 = random_floats(kFloats, 2),
                         h1 = random_floats(kFloats, 3, 0.0f, 0.5f);
      if (squares) h0 = random_floats(kFloats, 4, 0.0f, 0.5f);
      if (!two) h1.assign(kFloats, 0.0f);
      cuda::DeviceBuffer dw = upload(w), dh0 = upload(h0), dh1 = upload(h1);
      for (int64_t iter = 0; iter < 3; ++iter) {
        const std::vector<float> g = random_floats(kFloats, 10 + iter, -0.5f, 0.5f);
        UpdateRule rule;
        rule.type = type;
        rule.lr = 0.01f * static_cast<float>(iter + 1);
        rule.momentum = type == Type::kAdaGrad || type == Type::kRmsProp ? 0.0f : 0.9f;
        rule.rms_decay = 0.95f;
        rule.momentum2 = 0.999f;
        rule.delta = 1e-8f;
        rule.weight_decay = 0.05f;
        rule.l1 = l1;
        rule.iteration = iter;
        apply_updates(rule, spans, w.data(), g.data(), h0.data(), h1.data());
        cuda::DeviceBuffer dg = upload(g);
        cuda::apply_updates(hyper_of(rule), t, dw.as<float>(), dg.as<float>(), dh0.as<float>(),
                            two ? dh1.as<float>() : nullptr, nullptr, stream());
        EXPECT_EQ(download<float>(dg, kFloats), g);  // diff is read only
      }
      expect_ulps("weights", download<float>(dw, kFloats), w, 2);
      expect_ulps("history0", download<float>(dh0, kFloats), h0, 2);
      expect_ulps("history1", download<float>(dh1, kFloats), h1, 2);
    }
  }
}

TEST_F(SgdUpdateTest, ScalingClippingAndFusedScaleMatchTheCpu) {
  const std::vector<UpdateSpan> spans = engine_spans();
  cuda::UpdateSpanTable t = table();
  for (bool clips : {true, false}) {
    SCOPED_TRACE(clips ? "clipping" : "not clipping");
    std::vector<float> w = random_floats(kFloats, 21), h0 = random_floats(kFloats, 22),
                       g = random_floats(kFloats, 23, -2.0f, 2.0f);
    cuda::DeviceBuffer dw = upload(w), dh0 = upload(h0), dg = upload(g);

    // CPU: iter_size normalisation, clipping, update.
    scale_diffs(spans, 0.25f, g.data());
    const double norm = diff_norm(spans, g.data());
    const float clip = clips ? static_cast<float>(norm / 3.0) : static_cast<float>(norm * 2.0);
    std::vector<float> clipped = g;
    clip_gradients(spans, clip, clipped.data());
    UpdateRule rule;
    rule.lr = 0.1f;
    rule.momentum = 0.9f;
    rule.weight_decay = 0.001f;
    apply_updates(rule, spans, w.data(), clipped.data(), h0.data(), nullptr);

    // GPU: the same with the clip factor left in device memory.
    cuda::scale_diffs(t, 0.25f, dg.as<float>(), stream());
    expect_ulps("scaled diff", download<float>(dg, kFloats), g, 0);
    cuda::DeviceBuffer partials = poisoned(cuda::kReducePartials * sizeof(double));
    cuda::DeviceBuffer sum = poisoned(sizeof(double)), dnorm = poisoned(sizeof(double));
    cuda::DeviceBuffer factor = poisoned(sizeof(float));
    cuda::diff_sum_squares(t, dg.as<float>(), partials.as<double>(), sum.as<double>(), stream());
    cuda::clip_factor(sum.as<double>(), clip, factor.as<float>(), dnorm.as<double>(), stream());
    EXPECT_NEAR(download<double>(sum, 1)[0], norm * norm, 1e-12 * norm * norm);
    EXPECT_NEAR(download<double>(dnorm, 1)[0], norm, 1e-12 * norm);
    const float f = download<float>(factor, 1)[0];
    if (clips) {
      EXPECT_LE(ulps(f, static_cast<float>(clip / norm)), 1);
    } else {
      EXPECT_EQ(f, 1.0f);
    }
    cuda::apply_updates(hyper_of(rule), t, dw.as<float>(), dg.as<float>(), dh0.as<float>(), nullptr,
                        factor.as<float>(), stream());
    expect_ulps("weights", download<float>(dw, kFloats), w, clips ? 4 : 2);
    expect_ulps("history0", download<float>(dh0, kFloats), h0, clips ? 4 : 2);

    // The unfused form: scale the diff by the device factor.
    cuda::scale_diffs(t, factor.as<float>(), dg.as<float>(), stream());
    expect_ulps("clipped diff", download<float>(dg, kFloats), clipped, clips ? 1 : 0);
  }
}

}  // namespace
}  // namespace banyan::cuda_testing
