// Tests of EuclideanLoss and SigmoidCrossEntropyLoss: values against double
// references (with Caffe's normalizations and ignore_label), finite-
// difference gradients for every bottom that takes one, the overwrite
// check, shape errors, and the GPU against the CPU.
#include <gtest/gtest.h>

#include <cmath>
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
using banyan::testing::compare_gpu_to_cpu;
using banyan::testing::GpuCompareOptions;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;

LayerConfig loss_config(const std::string& type) {
  LayerConfig c;
  c.name = "loss";
  c.type = type;
  return c;
}

std::unique_ptr<Layer> make(const LayerConfig& c) {
  std::unique_ptr<Layer> layer;
  EXPECT_TRUE(create_layer(c, &layer).ok()) << c.type;
  return layer;
}

// Targets in [0, 1] (and a few ignored positions when `ignore` >= 0).
void fill_targets(Blob* t, float ignore = -1.0f) {
  for (int64_t i = 0; i < t->count(); ++i) {
    t->data()[i] =
        ignore >= 0.0f && i % 5 == 2 ? ignore : static_cast<float>((i * 37) % 11) / 10.0f;
  }
}

TEST(EuclideanLossTest, ValueGradientsAndErrors) {
  auto layer = make(loss_config("EuclideanLoss"));
  LayerHarness h({Shape{4, 3, 2}, Shape{4, 6}}, 1, 5);
  ASSERT_TRUE(h.setup(*layer).ok());
  EXPECT_EQ(h.top()[0]->shape(), Shape{});
  EXPECT_EQ(layer->default_loss_weight(0), 1.0f);
  layer->forward(h.bottom(), h.top(), h.ctx());
  double expect = 0.0;
  for (int64_t i = 0; i < 24; ++i) {
    const double d = double{h.bottom()[0]->data()[i]} - h.bottom()[1]->data()[i];
    expect += d * d;
  }
  expect /= 2.0 * 4;
  EXPECT_NEAR(h.top()[0]->data()[0], expect, 1e-6 * expect);
  GradientCheckOptions o;
  o.step = 1e-3f;
  check_gradients(*layer, h, o);
  check_accumulates_twice(*layer, h);

  auto bad = make(loss_config("EuclideanLoss"));
  LayerHarness mismatch({Shape{4, 3}, Shape{4, 2}}, 1);
  const Status s = mismatch.setup(*bad);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("same number of elements"), std::string::npos) << s.message();
}

double sce_reference(const Blob& x, const Blob& t, float ignore, double* valid) {
  double loss = 0.0;
  *valid = 0.0;
  for (int64_t i = 0; i < x.count(); ++i) {
    const double xi = x.data()[i], ti = t.data()[i];
    if (ignore >= 0.0f && t.data()[i] == ignore) continue;
    const double p = 1.0 / (1.0 + std::exp(-xi));
    loss -= ti * std::log(p) + (1.0 - ti) * std::log(1.0 - p);
    *valid += 1.0;
  }
  return loss;
}

TEST(SigmoidCrossEntropyLossTest, ValueWithEachNormalizationAndIgnoredTargets) {
  struct Mode {
    bool given;
    LossConfig::Normalization n;
    float ignore;
  };
  for (const Mode& m : {Mode{false, LossConfig::Normalization::kValid, -1.0f},
                        Mode{true, LossConfig::Normalization::kFull, -1.0f},
                        Mode{true, LossConfig::Normalization::kValid, 0.5f},
                        Mode{true, LossConfig::Normalization::kNone, -1.0f}}) {
    LayerConfig c = loss_config("SigmoidCrossEntropyLoss");
    c.loss.normalization_given = m.given;
    c.loss.normalization = m.n;
    if (m.ignore >= 0.0f) c.loss.ignore_label = static_cast<int>(m.ignore * 2);  // 1
    const float ignore = m.ignore >= 0.0f ? 1.0f : -1.0f;
    auto layer = make(c);
    LayerHarness h({Shape{3, 5, 2}, Shape{3, 10}}, 1, 9);
    ASSERT_TRUE(h.setup(*layer).ok());
    fill_targets(h.bottom()[1], ignore);
    for (int64_t i = 0; i < 30; ++i) h.bottom()[0]->data()[i] *= 4.0f;  // large |x| too
    layer->forward(h.bottom(), h.top(), h.ctx());
    double valid = 0.0;
    const double sum = sce_reference(*h.bottom()[0], *h.bottom()[1], ignore, &valid);
    const double norm = !m.given                                   ? 3.0
                        : m.n == LossConfig::Normalization::kFull  ? 30.0
                        : m.n == LossConfig::Normalization::kValid ? valid
                                                                   : 1.0;
    EXPECT_NEAR(h.top()[0]->data()[0], sum / norm, 1e-5 * sum / norm) << "mode " << int(m.n);
    if (ignore >= 0.0f) EXPECT_LT(valid, 30.0);
    GradientCheckOptions o;
    o.step = 1e-3f;
    check_gradients(*layer, h, o, {true, false});
    check_accumulates_twice(*layer, h);
  }
}

TEST(GpuRegressionLossTest, MatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  compare_gpu_to_cpu([] { return make(loss_config("EuclideanLoss")); },
                     {Shape{8, 3, 5}, Shape{8, 15}}, 1);
  for (bool ignore : {false, true}) {
    LayerConfig c = loss_config("SigmoidCrossEntropyLoss");
    if (ignore) {
      c.loss.ignore_label = 1;
      c.loss.normalization_given = true;
      c.loss.normalization = LossConfig::Normalization::kValid;
    }
    GpuCompareOptions o;
    o.propagate_down = {true, false};
    o.prepare_bottoms = [&](const std::vector<Blob*>& b) {
      fill_targets(b[1], ignore ? 1.0f : -1.0f);
    };
    compare_gpu_to_cpu([&] { return make(c); }, {Shape{6, 7, 3}, Shape{6, 21}}, 1, o);
  }
}

}  // namespace
}  // namespace banyan
