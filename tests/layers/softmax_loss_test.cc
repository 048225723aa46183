// Tests of SoftmaxWithLoss: shapes and errors, the loss for every
// normalization with ignore_label against a double reference, the clamp at
// FLT_MIN, gradients w.r.t. the scores, loss-weight scaling, labels untouched,
// and the CHECK on out-of-range labels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <optional>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::fill_gaussian;
using banyan::testing::LayerHarness;
using Norm = LossConfig::Normalization;

constexpr int kIgnore = 255;

LayerConfig loss_layer_config(Norm norm, std::optional<int> ignore = kIgnore) {
  LayerConfig c;
  c.name = "loss";
  c.type = "SoftmaxWithLoss";
  c.loss.normalization = norm;
  c.loss.ignore_label = ignore;
  return c;
}

// Scores (N, C, H, W) = (3, 4, 2, 3); labels (N, H, W): class (n + 2h + w) % C,
// with every fifth position set to kIgnore.
constexpr int64_t kN = 3, kC = 4, kH = 2, kW = 3;

void fill_labels(Blob* labels, bool with_ignored) {
  for (int64_t n = 0; n < kN; ++n) {
    for (int64_t p = 0; p < kH * kW; ++p) {
      const int64_t i = n * kH * kW + p;
      const int64_t h = p / kW, w = p % kW;
      labels->data()[i] =
          with_ignored && i % 5 == 1 ? kIgnore : static_cast<float>((n + 2 * h + w) % kC);
    }
  }
}

struct Reference {
  double loss_sum = 0.0;
  int64_t valid = 0;
  std::vector<double> prob;
};

Reference reference_loss(const float* x, const float* labels) {
  Reference r;
  r.prob.resize(kN * kC * kH * kW);
  for (int64_t n = 0; n < kN; ++n) {
    for (int64_t p = 0; p < kH * kW; ++p) {
      auto at = [&](int64_t c) { return (n * kC + c) * kH * kW + p; };
      double m = -INFINITY;
      for (int64_t c = 0; c < kC; ++c) m = std::max(m, static_cast<double>(x[at(c)]));
      double sum = 0.0;
      for (int64_t c = 0; c < kC; ++c) sum += std::exp(x[at(c)] - m);
      for (int64_t c = 0; c < kC; ++c) r.prob[at(c)] = std::exp(x[at(c)] - m) / sum;
      const float label = labels[n * kH * kW + p];
      if (label == kIgnore) continue;
      r.loss_sum -= std::log(r.prob[at(static_cast<int64_t>(label))]);
      ++r.valid;
    }
  }
  return r;
}

double normalizer(Norm norm, int64_t valid) {
  switch (norm) {
    case Norm::kFull:
      return kN * kH * kW;
    case Norm::kValid:
      return static_cast<double>(valid);
    case Norm::kBatchSize:
      return kN;
    case Norm::kNone:
      return 1.0;
  }
  return 0.0;
}

TEST(SoftmaxWithLossLayerTest, ShapesDefaultsAndErrors) {
  auto layer = new_softmax_with_loss_layer(loss_layer_config(Norm::kValid));
  LayerHarness h({Shape{kN, kC, kH, kW}, Shape{kN, 1, kH, kW}}, 2);
  ASSERT_TRUE(h.setup(*layer).ok());
  EXPECT_EQ(h.top()[0]->shape(), Shape{});
  EXPECT_EQ(h.top()[0]->count(), 1);
  EXPECT_EQ(h.top()[1]->shape(), (Shape{kN, kC, kH, kW}));
  EXPECT_EQ(layer->default_loss_weight(0), 1.0f);
  EXPECT_EQ(layer->default_loss_weight(1), 0.0f);
  EXPECT_TRUE(layer->can_propagate_down(0));
  EXPECT_FALSE(layer->can_propagate_down(1));

  auto bad = new_softmax_with_loss_layer(loss_layer_config(Norm::kValid));
  LayerHarness hb({Shape{kN, kC, kH, kW}, Shape{kN}}, 1);
  Status s = hb.setup(*bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'loss'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("hold 3 values; expected 18"), std::string::npos) << s.message();

  LayerConfig c = loss_layer_config(Norm::kValid);
  c.softmax.axis = 4;
  auto bad_axis = new_softmax_with_loss_layer(c);
  LayerHarness ha({Shape{kN, kC, kH, kW}, Shape{kN}}, 1);
  s = ha.setup(*bad_axis);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("axis 4"), std::string::npos) << s.message();

  auto three_tops = new_softmax_with_loss_layer(loss_layer_config(Norm::kValid));
  LayerHarness ht({Shape{2, 3}, Shape{2}}, 3);
  EXPECT_FALSE(ht.setup(*three_tops).ok());
}

TEST(SoftmaxWithLossLayerTest, LossMatchesReferenceForEveryNormalization) {
  for (Norm norm : {Norm::kValid, Norm::kFull, Norm::kBatchSize, Norm::kNone}) {
    for (bool with_ignored : {false, true}) {
      auto layer = new_softmax_with_loss_layer(loss_layer_config(norm));
      LayerHarness h({Shape{kN, kC, kH, kW}, Shape{kN, kH, kW}}, 2, 5);
      ASSERT_TRUE(h.setup(*layer).ok());
      fill_labels(h.bottom()[1], with_ignored);
      layer->forward(h.bottom(), h.top(), h.ctx());
      Reference r = reference_loss(h.bottom()[0]->data(), h.bottom()[1]->data());
      EXPECT_EQ(r.valid, with_ignored ? 14 : 18);
      const double expect = r.loss_sum / normalizer(norm, r.valid);
      EXPECT_NEAR(h.top()[0]->data()[0], expect, 1e-5 * expect)
          << "normalization " << static_cast<int>(norm) << " ignored " << with_ignored;
      for (int64_t i = 0; i < h.top()[1]->count(); ++i) {
        EXPECT_NEAR(h.top()[1]->data()[i], r.prob[i], 1e-6) << i;
      }
    }
  }
}

TEST(SoftmaxWithLossLayerTest, AllIgnoredGivesZeroLossAndGradient) {
  auto layer = new_softmax_with_loss_layer(loss_layer_config(Norm::kValid, 1));
  LayerHarness h({Shape{4, 3}, Shape{4}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  for (int i = 0; i < 4; ++i) h.bottom()[1]->data()[i] = 1.0f;
  layer->forward(h.bottom(), h.top(), h.ctx());
  EXPECT_EQ(h.top()[0]->data()[0], 0.0f);
  h.top()[0]->diff()[0] = 1.0f;
  layer->backward(h.top(), {true, false}, h.bottom(), h.ctx());
  for (int i = 0; i < 12; ++i) EXPECT_EQ(h.bottom()[0]->diff()[i], 0.0f);
}

TEST(SoftmaxWithLossLayerTest, ClampsVanishingProbabilityAtFltMin) {
  auto layer = new_softmax_with_loss_layer(loss_layer_config(Norm::kValid, std::nullopt));
  LayerHarness h({Shape{1, 3}, Shape{1}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  float* x = h.bottom()[0]->data();
  x[0] = 200.0f;  // p(class 2) = exp(-200) underflows float
  x[1] = 1.0f;
  x[2] = 0.0f;
  h.bottom()[1]->data()[0] = 2.0f;
  layer->forward(h.bottom(), h.top(), h.ctx());
  EXPECT_NEAR(h.top()[0]->data()[0], -std::log(static_cast<double>(FLT_MIN)), 1e-4);
}

TEST(SoftmaxWithLossLayerTest, GradientsMatchFiniteDifferences) {
  for (Norm norm : {Norm::kValid, Norm::kFull, Norm::kBatchSize, Norm::kNone}) {
    auto layer = new_softmax_with_loss_layer(loss_layer_config(norm));
    LayerHarness h({Shape{kN, kC, kH, kW}, Shape{kN, kH, kW}}, 1, 23);
    ASSERT_TRUE(h.setup(*layer).ok());
    fill_labels(h.bottom()[1], true);
    check_gradients(*layer, h, {}, {true, false});
  }
  // Classes on the last axis, labels (N).
  LayerConfig c = loss_layer_config(Norm::kValid);
  c.softmax.axis = -1;
  auto layer = new_softmax_with_loss_layer(c);
  LayerHarness h({Shape{5, 7}, Shape{5, 1}}, 1, 29);
  ASSERT_TRUE(h.setup(*layer).ok());
  for (int i = 0; i < 5; ++i) h.bottom()[1]->data()[i] = static_cast<float>((3 * i) % 7);
  check_gradients(*layer, h, {}, {true, false});
}

TEST(SoftmaxWithLossLayerTest, GradientScalesByLossWeightAndSparesLabels) {
  auto layer = new_softmax_with_loss_layer(loss_layer_config(Norm::kValid));
  LayerHarness h({Shape{kN, kC, kH, kW}, Shape{kN, kH, kW}}, 1, 31);
  ASSERT_TRUE(h.setup(*layer).ok());
  fill_labels(h.bottom()[1], true);
  layer->forward(h.bottom(), h.top(), h.ctx());
  Reference r = reference_loss(h.bottom()[0]->data(), h.bottom()[1]->data());
  const float weight = 2.5f;
  h.top()[0]->diff()[0] = weight;
  for (int64_t i = 0; i < h.bottom()[1]->count(); ++i) h.bottom()[1]->diff()[i] = -7.0f;
  layer->backward(h.top(), {true, true}, h.bottom(), h.ctx());
  for (int64_t i = 0; i < h.bottom()[1]->count(); ++i) EXPECT_EQ(h.bottom()[1]->diff()[i], -7.0f);
  const float* labels = h.bottom()[1]->data();
  for (int64_t n = 0; n < kN; ++n) {
    for (int64_t c = 0; c < kC; ++c) {
      for (int64_t p = 0; p < kH * kW; ++p) {
        const int64_t k = (n * kC + c) * kH * kW + p;
        const float label = labels[n * kH * kW + p];
        double expect = 0.0;
        if (label != kIgnore) expect = weight * (r.prob[k] - (c == label ? 1.0 : 0.0)) / r.valid;
        EXPECT_NEAR(h.bottom()[0]->diff()[k], expect, 1e-6) << k;
      }
    }
  }
}

TEST(SoftmaxWithLossLayerTest, ScoreGradientIsOverwritten) {
  auto layer = new_softmax_with_loss_layer(loss_layer_config(Norm::kValid));
  LayerHarness h({Shape{kN, kC, kH, kW}, Shape{kN, kH, kW}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  fill_labels(h.bottom()[1], true);
  check_accumulates_twice(*layer, h);
}

TEST(SoftmaxWithLossLayerTest, LabelOutOfRangeIsReportedNamingLayerAndValue) {
  auto layer = new_softmax_with_loss_layer(loss_layer_config(Norm::kValid));
  LayerHarness h({Shape{2, 4}, Shape{2}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  h.bottom()[1]->data()[0] = 1.0f;
  h.bottom()[1]->data()[1] = 7.0f;
  for (float bad : {7.0f, -1.0f, 0.5f}) {
    h.bottom()[1]->data()[1] = bad;
    layer->forward(h.bottom(), h.top(), h.ctx());
    const Status s = h.ctx().take_error();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("layer 'loss' (SoftmaxWithLoss): label " + format_value(bad) +
                               " of sample 1 is not a class id in [0, 4)"),
              std::string::npos)
        << s.message();
  }
}

}  // namespace
}  // namespace banyan
