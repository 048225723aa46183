// Tests of the Flatten layer: output shapes for several axis ranges, errors,
// a non-aliasing copy forward, gradients and accumulation.
#include <gtest/gtest.h>

#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::LayerHarness;

LayerConfig make_flatten_config(int axis, int end_axis) {
  LayerConfig c;
  c.name = "flat";
  c.type = "Flatten";
  c.flatten.axis = axis;
  c.flatten.end_axis = end_axis;
  return c;
}

TEST(FlattenLayerTest, ShapesForAxisRanges) {
  struct Case {
    Shape bottom;
    int axis, end_axis;
    Shape expect;
  };
  const Case cases[] = {
      {Shape{2, 3, 4, 5}, 1, -1, Shape{2, 60}},       {Shape{2, 3, 4, 5}, 2, 3, Shape{2, 3, 20}},
      {Shape{2, 3, 4, 5}, 0, -1, Shape{120}},         {Shape{2, 3, 4, 5}, 1, 1, Shape{2, 3, 4, 5}},
      {Shape{2, 3, 4, 5, 7}, 1, -2, Shape{2, 60, 7}}, {Shape{3, 1}, -2, -1, Shape{3}},
  };
  for (const Case& c : cases) {
    auto layer = new_flatten_layer(make_flatten_config(c.axis, c.end_axis));
    LayerHarness h({c.bottom}, 1);
    ASSERT_TRUE(h.setup(*layer).ok()) << c.expect.to_string();
    EXPECT_EQ(h.top()[0]->shape(), c.expect) << c.bottom.to_string();
  }
}

TEST(FlattenLayerTest, RejectsBadAxes) {
  struct Case {
    int axis, end_axis;
    std::string expect;
  };
  const Case cases[] = {
      {2, 1, "axis 2 comes after end_axis 1"},
      {4, -1, "axis 4 is out of range"},
      {1, -5, "axis -5 is out of range"},
  };
  for (const Case& c : cases) {
    auto layer = new_flatten_layer(make_flatten_config(c.axis, c.end_axis));
    LayerHarness h({Shape{2, 3, 4, 5}}, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok()) << c.expect;
    EXPECT_NE(s.message().find("'flat'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
}

TEST(FlattenLayerTest, ForwardCopiesWithoutAliasing) {
  auto layer = new_flatten_layer(make_flatten_config(1, -1));
  LayerHarness h({Shape{3, 2, 5}}, 1, 6);
  ASSERT_TRUE(h.setup(*layer).ok());
  layer->forward(h.bottom(), h.top(), h.ctx());
  ASSERT_NE(h.top()[0]->data(), h.bottom()[0]->data());
  std::vector<float> before(h.bottom()[0]->data(), h.bottom()[0]->data() + 30);
  // (n, c, w) -> (n, c * 5 + w): the layout is unchanged.
  for (int n = 0; n < 3; ++n) {
    for (int c = 0; c < 2; ++c) {
      for (int w = 0; w < 5; ++w) {
        EXPECT_EQ(h.top()[0]->data()[n * 10 + c * 5 + w], before[(n * 2 + c) * 5 + w]);
      }
    }
  }
  h.bottom()[0]->data()[0] += 1.0f;
  EXPECT_EQ(h.top()[0]->data()[0], before[0]);
}

TEST(FlattenLayerTest, GradientsMatchFiniteDifferences) {
  auto layer = new_flatten_layer(make_flatten_config(1, 2));
  LayerHarness h({Shape{2, 3, 2, 2}}, 1, 7);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_gradients(*layer, h);
}

TEST(FlattenLayerTest, BottomGradientIsOverwritten) {
  auto layer = new_flatten_layer(make_flatten_config(1, -1));
  LayerHarness h({Shape{2, 3, 4}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

}  // namespace
}  // namespace banyan
