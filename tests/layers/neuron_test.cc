// Tests of the elementwise layers (Sigmoid, TanH, AbsVal, BNLL, ELU, Exp,
// Log, Power, Threshold, Clip, Swish): forward against double references, backward
// against finite differences, the overwrite (accumulate-twice) check,
// in-place runs where allowed, and the GPU against the CPU (the loader's
// parameters: tests/config/neuron_params_test.cc).
#include "layers/neuron.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::check_in_place_matches;
using banyan::testing::compare_gpu_to_cpu;
using banyan::testing::GpuCompareOptions;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;

struct Case {
  std::string type;
  NeuronConfig params;
  std::function<double(double)> f;  // the reference, in double
  // Inputs mapped into the function's domain (Log and fractional Power need
  // positive arguments), away from kinks.
  std::function<float(float)> domain = [](float x) { return x; };
  bool smooth = true;  // false: AbsVal, Threshold (kink at 0)
};

NeuronConfig with(std::function<void(NeuronConfig*)> set) {
  NeuronConfig c;
  set(&c);
  return c;
}

std::vector<Case> cases() {
  const double e = std::exp(1.0);
  (void)e;
  return {
      {"Sigmoid", {}, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
      {"TanH", {}, [](double x) { return std::tanh(x); }},
      {"AbsVal", {}, [](double x) { return std::fabs(x); }, [](float x) { return x; }, false},
      {"BNLL", {}, [](double x) { return std::log1p(std::exp(x)); }},
      {"ELU", with([](NeuronConfig* c) { c->alpha = 0.7f; }),
       [](double x) { return x > 0 ? x : 0.7 * std::expm1(x); }},
      {"Exp", with([](NeuronConfig* c) {
         c->scale = 0.5f;
         c->shift = -0.2f;
       }),
       [](double x) { return std::exp(-0.2 + 0.5 * x); }},
      {"Exp", with([](NeuronConfig* c) {
         c->base = 2.0f;
         c->scale = 1.5f;
       }),
       [](double x) { return std::pow(2.0, 1.5 * x); }},
      {"Log", with([](NeuronConfig* c) {
         c->scale = 2.0f;
         c->shift = 1.0f;
       }),
       [](double x) { return std::log(1.0 + 2.0 * x); },
       [](float x) { return 0.3f + std::fabs(x); }},
      {"Log", with([](NeuronConfig* c) { c->base = 10.0f; }),
       [](double x) { return std::log10(x); }, [](float x) { return 0.3f + std::fabs(x); }},
      {"Power", with([](NeuronConfig* c) {
         c->power = 2.0f;
         c->scale = 0.5f;
         c->shift = 1.0f;
       }),
       [](double x) { return std::pow(1.0 + 0.5 * x, 2.0); }},
      {"Power", with([](NeuronConfig* c) {
         c->power = 0.5f;
         c->scale = 2.0f;
       }),
       [](double x) { return std::sqrt(2.0 * x); }, [](float x) { return 0.3f + std::fabs(x); }},
      {"Power", with([](NeuronConfig* c) { c->power = 0.0f; }), [](double) { return 1.0; }},
      {"Threshold", with([](NeuronConfig* c) { c->threshold = 0.25f; }),
       [](double x) { return x > 0.25 ? 1.0 : 0.0; }, [](float x) { return x; }, false},
      // Inputs kept 0.05 away from the ends, where the gradient is cut.
      {"Clip", with([](NeuronConfig* c) {
         c->clip_min = -0.5f;
         c->clip_max = 0.6f;
       }),
       [](double x) { return std::min(std::max(x, -0.5), 0.6); },
       [](float x) {
         return std::fabs(x + 0.5f) < 0.05f || std::fabs(x - 0.6f) < 0.05f ? x + 0.11f : x;
       }},
      {"Swish", {}, [](double x) { return x / (1.0 + std::exp(-x)); }},
      {"Swish", with([](NeuronConfig* c) { c->beta = 1.7f; }),
       [](double x) { return x / (1.0 + std::exp(-1.7 * x)); }},
  };
}

LayerConfig config_of(const Case& c) {
  LayerConfig l;
  l.name = "n1";
  l.type = c.type;
  l.neuron = c.params;
  return l;
}

std::unique_ptr<Layer> make(const Case& c) {
  std::unique_ptr<Layer> layer;
  EXPECT_TRUE(create_layer(config_of(c), &layer).ok()) << c.type;
  return layer;
}

void map_domain(const Case& c, Blob* b) {
  float* x = b->data();
  for (int64_t i = 0; i < b->count(); ++i) {
    x[i] = c.domain(x[i]);
    if (!c.smooth && std::fabs(x[i] - c.params.threshold * (c.type == "Threshold")) < 0.05f) {
      x[i] += 0.1f;  // keep away from the kink
    }
  }
}

TEST(NeuronLayerTest, ForwardMatchesTheDoubleReference) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.type);
    auto layer = make(c);
    LayerHarness h({Shape{3, 4, 5}}, 1, 7);
    ASSERT_TRUE(h.setup(*layer).ok());
    EXPECT_EQ(h.top()[0]->shape(), (Shape{3, 4, 5}));
    map_domain(c, h.bottom()[0]);
    std::fill(h.top()[0]->data(), h.top()[0]->data() + h.top()[0]->count(), NAN);  // poison
    layer->forward(h.bottom(), h.top(), h.ctx());
    for (int64_t i = 0; i < h.top()[0]->count(); ++i) {
      const double expect = c.f(h.bottom()[0]->data()[i]);
      EXPECT_NEAR(h.top()[0]->data()[i], expect, 2e-6 * std::fabs(expect) + 2e-6)
          << "x = " << h.bottom()[0]->data()[i];
    }
  }
}

TEST(NeuronLayerTest, GradientsMatchFiniteDifferencesAndOverwrite) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.type);
    auto layer = make(c);
    LayerHarness h({Shape{2, 3, 4}}, 1, 3);
    ASSERT_TRUE(h.setup(*layer).ok());
    map_domain(c, h.bottom()[0]);
    GradientCheckOptions o;
    o.step = 1e-3f;
    if (c.type == "AbsVal") {
      o.kink = 0.0f;
      o.kink_range = 2.5f * o.step;
    }
    if (c.type == "Threshold") {
      o.kink = c.params.threshold;
      o.kink_range = 2.5f * o.step;
    }
    check_gradients(*layer, h, o);
    check_accumulates_twice(*layer, h);
  }
}

TEST(NeuronLayerTest, InPlaceOnlyWhereBackwardReadsTheOutput) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.type);
    auto layer = make(c);
    const bool in_place = c.type == "Sigmoid" || c.type == "TanH" || c.type == "Threshold";
    EXPECT_EQ(layer->allows_in_place(), in_place);
    if (in_place) check_in_place_matches([&] { return make(c); }, Shape{4, 5});
  }
}

TEST(NeuronLayerTest, ClipWithoutItsRangeIsRefused) {
  LayerConfig l;
  l.name = "clip";
  l.type = "Clip";  // no clip_param: min and max unknown
  std::unique_ptr<Layer> layer;
  ASSERT_TRUE(create_layer(l, &layer).ok());
  LayerHarness h({Shape{2, 3}}, 1, 1);
  Status s = h.setup(*layer);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("layer 'clip' (Clip)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("needs clip_param"), std::string::npos) << s.message();
}

TEST(GpuNeuronTest, MatchesCpuForEveryOp) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.type);
    GpuCompareOptions o;
    o.rel_tol = 1e-5f;
    o.prepare_bottoms = [&](const std::vector<Blob*>& bottom) { map_domain(c, bottom[0]); };
    for (const Shape& s : {Shape{7}, Shape{3, 5, 7, 9}, Shape{1, 100003}}) {
      compare_gpu_to_cpu([&] { return make(c); }, {s}, 1, o);
    }
  }
}

}  // namespace
}  // namespace banyan
