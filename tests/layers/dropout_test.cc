// Tests of the Dropout layer: config errors, keep rate and scaling, the
// counter-based mask (formula, layout independence, change across
// iterations), TEST identity, gradients through the mask, in-place use.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/core/random.h"
#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::fill_gaussian;
using banyan::testing::fill_uniform;
using banyan::testing::LayerHarness;

LayerConfig make_dropout_config(float ratio, const std::string& name = "drop") {
  LayerConfig c;
  c.name = name;
  c.type = "Dropout";
  c.dropout.dropout_ratio = ratio;
  return c;
}

// Positive inputs, so an output is zero exactly when the unit was dropped.
void fill_positive(Blob* b, uint64_t seed) {
  fill_uniform(b->data(), b->count(), seed, 0.5f, 1.5f);
}

// Keep flags of one forward pass over `h` at the given step.
std::vector<bool> kept_units(Layer& layer, LayerHarness& h, int64_t iteration, int64_t base) {
  h.ctx().step().phase = Phase::kTrain;
  h.ctx().step().iteration = iteration;
  h.ctx().step().sample_base = base;
  layer.forward(h.bottom(), h.top(), h.ctx());
  std::vector<bool> kept(h.top()[0]->count());
  for (size_t i = 0; i < kept.size(); ++i) kept[i] = h.top()[0]->data()[i] != 0.0f;
  return kept;
}

TEST(DropoutLayerTest, RejectsBadRatioAndScalarBottom) {
  for (float ratio : {1.0f, -0.1f, 1.5f}) {
    auto layer = new_dropout_layer(make_dropout_config(ratio));
    LayerHarness h({Shape{2, 3}}, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok()) << ratio;
    EXPECT_NE(s.message().find("'drop'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("dropout_ratio"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(std::to_string(ratio)), std::string::npos) << s.message();
  }
  auto layer = new_dropout_layer(make_dropout_config(0.5f));
  LayerHarness h({Shape{}}, 1);
  Status s = h.setup(*layer);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("sample"), std::string::npos) << s.message();
}

TEST(DropoutLayerTest, KeepsAboutOneMinusPAndScales) {
  for (float p : {0.3f, 0.5f, 0.8f}) {
    auto layer = new_dropout_layer(make_dropout_config(p));
    LayerHarness h({Shape{50, 8, 5, 10}}, 1);
    ASSERT_TRUE(h.setup(*layer).ok());
    EXPECT_EQ(h.top()[0]->shape(), (Shape{50, 8, 5, 10}));
    fill_positive(h.bottom()[0], 9);
    std::vector<bool> kept = kept_units(*layer, h, 0, 0);
    const float* x = h.bottom()[0]->data();
    const float* y = h.top()[0]->data();
    int64_t num_kept = 0;
    for (size_t i = 0; i < kept.size(); ++i) {
      if (!kept[i]) continue;
      ++num_kept;
      EXPECT_NEAR(y[i], x[i] / (1.0 - p), 1e-6 * x[i] / (1.0 - p)) << i;
    }
    const double fraction = static_cast<double>(num_kept) / kept.size();
    // 20000 units: the standard deviation of the fraction is below 0.0036.
    EXPECT_NEAR(fraction, 1.0 - p, 0.015) << "p " << p;
  }
}

TEST(DropoutLayerTest, MaskFollowsTheDocumentedCounterFormula) {
  const float p = 0.4f;
  const int64_t num = 8, per_sample = 10 * 25;
  auto layer = new_dropout_layer(make_dropout_config(p, "fc6/drop"));
  LayerHarness h({Shape{num, 10, 25}}, 1, 17);
  ASSERT_TRUE(h.setup(*layer).ok());
  fill_positive(h.bottom()[0], 4);
  std::vector<bool> kept = kept_units(*layer, h, 5, 1234);
  const uint64_t key = key_for(h.ctx().seed(), "fc6/drop");
  int mismatches = 0;
  for (int64_t n = 0; n < num; ++n) {
    for (int64_t j = 0; j < per_sample; ++j) {
      const bool expect = uniform_at(key, static_cast<uint64_t>(1234 + n), j) >= p;
      if (kept[n * per_sample + j] != expect && ++mismatches <= 5) {
        ADD_FAILURE() << "sample " << n << " element " << j << " expected kept " << expect;
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(DropoutLayerTest, MaskDependsOnlyOnGlobalSampleIndex) {
  const float p = 0.5f;
  const int64_t per_sample = 3 * 7;
  auto whole = new_dropout_layer(make_dropout_config(p));
  LayerHarness hw({Shape{6, 3, 7}}, 1);
  ASSERT_TRUE(hw.setup(*whole).ok());
  fill_positive(hw.bottom()[0], 1);
  std::vector<bool> all = kept_units(*whole, hw, 0, 0);

  // A worker holding samples 3..5 of the same global batch (sample_base 3).
  auto part = new_dropout_layer(make_dropout_config(p));
  LayerHarness hp({Shape{3, 3, 7}}, 1);
  ASSERT_TRUE(hp.setup(*part).ok());
  fill_positive(hp.bottom()[0], 2);
  std::vector<bool> slice = kept_units(*part, hp, 0, 3);
  for (int64_t n = 0; n < 3; ++n) {
    for (int64_t j = 0; j < per_sample; ++j) {
      EXPECT_EQ(slice[n * per_sample + j], all[(n + 3) * per_sample + j]) << n << "," << j;
    }
  }
}

TEST(DropoutLayerTest, MaskChangesAcrossIterationsAndLayers) {
  const int64_t batch = 4;
  auto layer = new_dropout_layer(make_dropout_config(0.5f));
  LayerHarness h({Shape{batch, 50}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  fill_positive(h.bottom()[0], 3);
  std::vector<bool> it0 = kept_units(*layer, h, 0, 0);
  std::vector<bool> again = kept_units(*layer, h, 0, 0);
  std::vector<bool> it1 = kept_units(*layer, h, 1, batch);
  EXPECT_EQ(it0, again);
  int differ = 0;
  for (size_t i = 0; i < it0.size(); ++i) differ += it0[i] != it1[i] ? 1 : 0;
  EXPECT_GT(differ, 50);  // about half of 200 expected

  auto other = new_dropout_layer(make_dropout_config(0.5f, "drop2"));
  LayerHarness h2({Shape{batch, 50}}, 1);
  ASSERT_TRUE(h2.setup(*other).ok());
  fill_positive(h2.bottom()[0], 3);
  std::vector<bool> named = kept_units(*other, h2, 0, 0);
  differ = 0;
  for (size_t i = 0; i < it0.size(); ++i) differ += it0[i] != named[i] ? 1 : 0;
  EXPECT_GT(differ, 50);
}

TEST(DropoutLayerTest, TestPhaseIsIdentity) {
  auto layer = new_dropout_layer(make_dropout_config(0.6f));
  LayerHarness h({Shape{4, 9}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  h.ctx().step().phase = Phase::kTest;
  layer->forward(h.bottom(), h.top(), h.ctx());
  fill_gaussian(h.top()[0]->diff(), 36, 8);
  layer->backward(h.top(), {true}, h.bottom(), h.ctx());
  for (int i = 0; i < 36; ++i) {
    EXPECT_EQ(h.top()[0]->data()[i], h.bottom()[0]->data()[i]);
    EXPECT_EQ(h.bottom()[0]->diff()[i], h.top()[0]->diff()[i]);
  }
}

TEST(DropoutLayerTest, GradientFollowsTheMask) {
  const float p = 0.35f;
  auto layer = new_dropout_layer(make_dropout_config(p));
  LayerHarness h({Shape{3, 2, 5}}, 1, 6);
  ASSERT_TRUE(h.setup(*layer).ok());
  h.ctx().step().iteration = 2;
  h.ctx().step().sample_base = 6;
  check_gradients(*layer, h);

  fill_positive(h.bottom()[0], 12);
  std::vector<bool> kept = kept_units(*layer, h, 2, 6);
  fill_gaussian(h.top()[0]->diff(), 30, 13);
  layer->backward(h.top(), {true}, h.bottom(), h.ctx());
  int dropped = 0;
  for (int i = 0; i < 30; ++i) {
    const double expect = kept[i] ? h.top()[0]->diff()[i] / (1.0 - p) : 0.0;
    dropped += kept[i] ? 0 : 1;
    EXPECT_NEAR(h.bottom()[0]->diff()[i], expect, 1e-6 * std::fabs(expect)) << i;
  }
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, 30);
}

TEST(DropoutLayerTest, BottomGradientIsOverwritten) {
  auto layer = new_dropout_layer(make_dropout_config(0.5f));
  LayerHarness h({Shape{4, 6}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

TEST(DropoutLayerTest, InPlaceMatchesOutOfPlace) {
  const Shape shape{5, 2, 3};
  auto ref = new_dropout_layer(make_dropout_config(0.5f));
  LayerHarness h({shape}, 1, 8);
  ASSERT_TRUE(h.setup(*ref).ok());
  h.ctx().step().sample_base = 10;
  fill_gaussian(h.top()[0]->diff(), shape.count(), 5);
  ref->forward(h.bottom(), h.top(), h.ctx());
  ref->backward(h.top(), {true}, h.bottom(), h.ctx());

  auto layer = new_dropout_layer(make_dropout_config(0.5f));
  Blob x("x");
  x.set_shape(shape);
  ASSERT_TRUE(layer->setup({&x}, {&x}).ok());
  ASSERT_TRUE(x.allocate(Device::cpu()).ok());
  std::copy(h.bottom()[0]->data(), h.bottom()[0]->data() + x.count(), x.data());
  WorkerContext ctx(Device::cpu(), h.ctx().seed());
  ctx.step().sample_base = 10;
  layer->forward({&x}, {&x}, ctx);
  fill_gaussian(x.diff(), x.count(), 5);
  layer->backward({&x}, {true}, {&x}, ctx);
  int zeros = 0;
  for (int64_t i = 0; i < x.count(); ++i) {
    zeros += x.data()[i] == 0.0f ? 1 : 0;
    EXPECT_EQ(x.data()[i], h.top()[0]->data()[i]) << i;
    EXPECT_EQ(x.diff()[i], h.bottom()[0]->diff()[i]) << i;
  }
  EXPECT_GT(zeros, 0);
}

}  // namespace
}  // namespace banyan
