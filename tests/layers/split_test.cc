// Tests of the Split layer: shapes, copies forward, summed gradients
// backward, finite differences, accumulation, and the in-place error.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::fill_gaussian;
using banyan::testing::LayerHarness;

LayerConfig make_split_config() {
  LayerConfig c;
  c.name = "conv1_split";
  c.type = "Split";
  return c;
}

TEST(SplitLayerTest, EveryTopIsACopy) {
  const Shape shape{2, 3, 5};
  auto layer = new_split_layer(make_split_config());
  LayerHarness h({shape}, 3, 2);
  ASSERT_TRUE(h.setup(*layer).ok());
  layer->forward(h.bottom(), h.top(), h.ctx());
  for (Blob* t : h.top()) {
    EXPECT_EQ(t->shape(), shape);
    EXPECT_NE(t->data(), h.bottom()[0]->data());
    for (int64_t i = 0; i < shape.count(); ++i) EXPECT_EQ(t->data()[i], h.bottom()[0]->data()[i]);
  }
}

TEST(SplitLayerTest, BackwardSumsTopGradients) {
  const Shape shape{4, 7};
  auto layer = new_split_layer(make_split_config());
  LayerHarness h({shape}, 3);
  ASSERT_TRUE(h.setup(*layer).ok());
  layer->forward(h.bottom(), h.top(), h.ctx());
  for (size_t t = 0; t < 3; ++t) fill_gaussian(h.top()[t]->diff(), shape.count(), 10 + t);
  layer->backward(h.top(), {true}, h.bottom(), h.ctx());
  for (int64_t i = 0; i < shape.count(); ++i) {
    double sum = 0.0;
    for (Blob* t : h.top()) sum += t->diff()[i];
    EXPECT_NEAR(h.bottom()[0]->diff()[i], sum, 1e-6) << i;
  }
}

TEST(SplitLayerTest, GradientsMatchFiniteDifferences) {
  auto layer = new_split_layer(make_split_config());
  LayerHarness h({Shape{3, 2, 3}}, 2, 4);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_gradients(*layer, h);
}

TEST(SplitLayerTest, BottomGradientIsOverwritten) {
  auto layer = new_split_layer(make_split_config());
  LayerHarness h({Shape{5}}, 4);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

TEST(SplitLayerTest, RejectsNoTopsAndInPlace) {
  auto layer = new_split_layer(make_split_config());
  LayerHarness h({Shape{2, 2}}, 0);
  Status s = h.setup(*layer);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'conv1_split'"), std::string::npos) << s.message();

  auto in_place = new_split_layer(make_split_config());
  Blob x("x"), y("y");
  x.set_shape(Shape{2, 2});
  s = in_place->setup({&x}, {&y, &x});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("top 1 'x'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace banyan
