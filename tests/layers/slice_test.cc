// Tests of the Slice layer: top shapes from slice points and even splits,
// config errors naming the layer, forward against an index reference, the
// gradient (finite differences and an exact join) and overwriting.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::LayerHarness;

LayerConfig make_slice_config(int axis, std::vector<int64_t> points) {
  LayerConfig c;
  c.name = "slice1";
  c.type = "Slice";
  c.slice.axis = axis;
  c.slice.slice_point = std::move(points);
  return c;
}

struct SliceCase {
  int axis;
  std::vector<int64_t> points;
  int tops;
  Shape bottom;
  std::vector<int64_t> sizes;  // of the sliced axis, per top
  int canonical;
};

std::vector<SliceCase> slice_cases() {
  return {
      {1, {}, 3, Shape{2, 6, 3, 4}, {2, 2, 2}, 1}, {1, {1, 4}, 3, Shape{2, 6, 3, 4}, {1, 3, 2}, 1},
      {0, {3}, 2, Shape{5, 2, 3}, {3, 2}, 0},      {-1, {2, 3}, 3, Shape{2, 3, 5}, {2, 1, 2}, 2},
      {2, {}, 1, Shape{2, 3, 4}, {4}, 2},          {1, {}, 2, Shape{3, 8}, {4, 4}, 1},
  };
}

TEST(SliceLayerTest, TopShapesFollowSlicePoints) {
  for (const SliceCase& k : slice_cases()) {
    auto layer = new_slice_layer(make_slice_config(k.axis, k.points));
    LayerHarness h({k.bottom}, k.tops);
    Status s = h.setup(*layer);
    ASSERT_TRUE(s.ok()) << s.to_string();
    for (int t = 0; t < k.tops; ++t) {
      Shape expect = k.bottom;
      expect.set_dim(k.canonical, k.sizes[t]);
      EXPECT_EQ(h.top()[t]->shape(), expect) << "axis " << k.axis << " top " << t;
    }
  }
}

TEST(SliceLayerTest, RejectsBadConfig) {
  struct Case {
    int axis;
    std::vector<int64_t> points;
    int tops;
    std::string expect;
  };
  const Case cases[] = {
      {1, {}, 4, "does not divide into 4 equal slices"},
      {1, {2}, 3, "1 slice points for 3 tops"},
      {1, {3, 2}, 3, "slice_point 2 (#1) must lie in (3, 6)"},
      {1, {2, 2}, 3, "slice_point 2 (#1) must lie in (2, 6)"},
      {1, {0}, 2, "slice_point 0 (#0) must lie in (0, 6)"},
      {1, {6}, 2, "slice_point 6 (#0) must lie in (0, 6)"},
      {1, {2, 9}, 3, "slice_point 9"},
      {3, {}, 2, "axis 3 is out of range"},
      {-4, {}, 2, "axis -4 is out of range"},
  };
  for (const Case& c : cases) {
    auto layer = new_slice_layer(make_slice_config(c.axis, c.points));
    LayerHarness h({Shape{2, 6, 3}}, c.tops);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok()) << c.expect;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("'slice1'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
  auto layer = new_slice_layer(make_slice_config(1, {}));
  LayerHarness none({Shape{2, 6}}, 0);
  EXPECT_FALSE(none.setup(*layer).ok());
}

TEST(SliceLayerTest, ForwardMatchesReference) {
  for (const SliceCase& k : slice_cases()) {
    auto layer = new_slice_layer(make_slice_config(k.axis, k.points));
    LayerHarness h({k.bottom}, k.tops, 3);
    ASSERT_TRUE(h.setup(*layer).ok());
    layer->forward(h.bottom(), h.top(), h.ctx());
    const int a = k.canonical;
    const int64_t outer = k.bottom.count(0, a), inner = k.bottom.count(a + 1);
    const int64_t dim = k.bottom.dim(a);
    int64_t start = 0;
    for (int t = 0; t < k.tops; ++t) {
      const Blob* top = h.top()[t];
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t j = 0; j < k.sizes[t]; ++j) {
          for (int64_t i = 0; i < inner; ++i) {
            const float got = top->data()[(o * k.sizes[t] + j) * inner + i];
            const float want = h.bottom()[0]->data()[(o * dim + start + j) * inner + i];
            ASSERT_EQ(got, want) << "axis " << k.axis << " top " << t;
          }
        }
      }
      start += k.sizes[t];
    }
  }
}

TEST(SliceLayerTest, GradientJoinsTheTops) {
  for (const SliceCase& k : slice_cases()) {
    auto layer = new_slice_layer(make_slice_config(k.axis, k.points));
    LayerHarness h({k.bottom}, k.tops, 5);
    ASSERT_TRUE(h.setup(*layer).ok());
    check_gradients(*layer, h);
  }
  // Exact: slicing along axis 1 of (2, 5) at 2 gives (2, 2) and (2, 3);
  // the bottom gradient is their rows side by side.
  auto layer = new_slice_layer(make_slice_config(1, {2}));
  LayerHarness h({Shape{2, 5}}, 2);
  ASSERT_TRUE(h.setup(*layer).ok());
  const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8, 9, 10};
  std::copy(a, a + 4, h.top()[0]->diff());
  std::copy(b, b + 6, h.top()[1]->diff());
  layer->backward(h.top(), {true}, h.bottom(), h.ctx());
  const float want[] = {1, 2, 5, 6, 7, 3, 4, 8, 9, 10};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(h.bottom()[0]->diff()[i], want[i]) << i;
}

TEST(SliceLayerTest, SecondBackwardOverwrites) {
  auto layer = new_slice_layer(make_slice_config(1, {1, 3}));
  LayerHarness h({Shape{3, 5, 4}}, 3, 7);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

}  // namespace
}  // namespace banyan
