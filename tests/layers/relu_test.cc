// Tests of the ReLU layer: shapes, config errors, forward against a double
// reference, finite-difference gradients (plain and leaky), accumulation and
// in-place equivalence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::check_in_place_matches;
using banyan::testing::fill_gaussian;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;

LayerConfig make_relu_config(float slope) {
  LayerConfig c;
  c.name = "relu1";
  c.type = "ReLU";
  c.relu.negative_slope = slope;
  return c;
}

TEST(ReluLayerTest, TopTakesBottomShapeAtAnyRank) {
  for (const Shape& s : {Shape{}, Shape{7}, Shape{2, 3, 5}, Shape{1, 2, 3, 1, 5}}) {
    auto layer = new_relu_layer(make_relu_config(0.0f));
    LayerHarness h({s}, 1);
    ASSERT_TRUE(h.setup(*layer).ok());
    EXPECT_EQ(h.top()[0]->shape(), s);
    EXPECT_TRUE(layer->allows_in_place());
  }
}

TEST(ReluLayerTest, RejectsBadConfigNamingLayerAndValue) {
  {
    auto layer = new_relu_layer(make_relu_config(0.0f));
    LayerHarness h({Shape{2, 3}, Shape{2, 3}}, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("relu1"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("got 2"), std::string::npos) << s.message();
  }
  {
    // A negative slope cannot run in place: the output's sign no longer tells the input's.
    auto layer = new_relu_layer(make_relu_config(-0.5f));
    Blob x("x");
    x.set_shape(Shape{2, 3});
    Status s = layer->setup({&x}, {&x});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("relu1"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("negative_slope -0.5"), std::string::npos) << s.message();
  }
}

TEST(ReluLayerTest, ForwardMatchesReference) {
  for (float slope : {0.0f, 0.2f, -0.3f}) {
    auto layer = new_relu_layer(make_relu_config(slope));
    LayerHarness h({Shape{3, 5, 7}}, 1, 11);
    ASSERT_TRUE(h.setup(*layer).ok());
    layer->forward(h.bottom(), h.top(), h.ctx());
    const float* x = h.bottom()[0]->data();
    const float* y = h.top()[0]->data();
    int negatives = 0;
    for (int64_t i = 0; i < h.top()[0]->count(); ++i) {
      const double xd = x[i];
      const double expect = xd > 0.0 ? xd : static_cast<double>(slope) * xd;
      negatives += xd < 0.0 ? 1 : 0;
      EXPECT_NEAR(y[i], expect, 1e-6 * std::fabs(expect) + 1e-7) << "slope " << slope << " i " << i;
    }
    EXPECT_GT(negatives, 10);  // both branches are exercised
  }
}

TEST(ReluLayerTest, GradientsMatchFiniteDifferences) {
  for (float slope : {0.0f, 0.25f}) {
    auto layer = new_relu_layer(make_relu_config(slope));
    LayerHarness h({Shape{2, 3, 4, 5}}, 1, 3);
    ASSERT_TRUE(h.setup(*layer).ok());
    GradientCheckOptions o;
    o.kink = 0.0f;
    o.kink_range = 2.5f * o.step;
    check_gradients(*layer, h, o);
  }
}

TEST(ReluLayerTest, BottomGradientIsOverwritten) {
  auto layer = new_relu_layer(make_relu_config(0.1f));
  LayerHarness h({Shape{3, 4}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

// Runs forward and backward with dy = g on `x` in place and out of place.
TEST(ReluLayerTest, InPlaceMatchesOutOfPlace) {
  for (float slope : {0.0f, 0.3f}) {
    SCOPED_TRACE("slope " + std::to_string(slope));
    check_in_place_matches([&] { return new_relu_layer(make_relu_config(slope)); }, Shape{4, 3, 5});
  }
}

TEST(ReluLayerTest, SkipsBottomWhenNotPropagating) {
  auto layer = new_relu_layer(make_relu_config(0.0f));
  LayerHarness h({Shape{2, 3}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  layer->forward(h.bottom(), h.top(), h.ctx());
  fill_gaussian(h.top()[0]->diff(), 6, 5);
  for (int i = 0; i < 6; ++i) h.bottom()[0]->diff()[i] = 42.0f;
  layer->backward(h.top(), {false}, h.bottom(), h.ctx());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(h.bottom()[0]->diff()[i], 42.0f);
}

}  // namespace
}  // namespace banyan
