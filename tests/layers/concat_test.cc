// Tests of the Concat layer: output shapes on several axes, errors naming the
// mismatching bottom, forward against an index-by-index reference,
// gradients, accumulation and partial propagation.
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

LayerConfig make_concat_config(int axis) {
  LayerConfig c;
  c.name = "cat";
  c.type = "Concat";
  c.concat.axis = axis;
  return c;
}

// Multi-index of flat element i of shape s.
std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> idx(s.num_axes());
  for (int d = s.num_axes() - 1; d >= 0; --d) {
    idx[d] = i % s.dim(d);
    i /= s.dim(d);
  }
  return idx;
}

int64_t ravel(const std::vector<int64_t>& idx, const Shape& s) {
  int64_t i = 0;
  for (int d = 0; d < s.num_axes(); ++d) i = i * s.dim(d) + idx[d];
  return i;
}

TEST(ConcatLayerTest, ShapesOnSeveralAxes) {
  struct Case {
    int axis;
    std::vector<Shape> bottoms;
    Shape expect;
  };
  const Case cases[] = {
      {1, {Shape{2, 3, 4}, Shape{2, 1, 4}, Shape{2, 5, 4}}, Shape{2, 9, 4}},
      {0, {Shape{3, 2, 5}, Shape{1, 2, 5}}, Shape{4, 2, 5}},
      {-1, {Shape{2, 3, 1}, Shape{2, 3, 6}}, Shape{2, 3, 7}},
      {2, {Shape{1, 2, 3, 5}, Shape{1, 2, 7, 5}}, Shape{1, 2, 10, 5}},
      {1, {Shape{4, 3}}, Shape{4, 3}},
  };
  for (const Case& c : cases) {
    auto layer = new_concat_layer(make_concat_config(c.axis));
    LayerHarness h(c.bottoms, 1);
    ASSERT_TRUE(h.setup(*layer).ok()) << c.expect.to_string();
    EXPECT_EQ(h.top()[0]->shape(), c.expect);
  }
}

TEST(ConcatLayerTest, ErrorsNameTheMismatchingBottom) {
  struct Case {
    int axis;
    std::vector<Shape> bottoms;
    std::vector<std::string> expect;
  };
  const Case cases[] = {
      {1,
       {Shape{2, 3, 4}, Shape{2, 1, 4}, Shape{2, 5, 6}},
       {"bottom 2", "(2, 5, 6)", "dimension 2 is 6"}},
      {1, {Shape{2, 3, 4}, Shape{3, 3, 4}}, {"bottom 1", "dimension 0 is 3"}},
      {1, {Shape{2, 3, 4}, Shape{2, 3}}, {"bottom 1", "rank 2"}},
      {3, {Shape{2, 3, 4}, Shape{2, 3, 4}}, {"axis 3", "(2, 3, 4)"}},
  };
  for (const Case& c : cases) {
    auto layer = new_concat_layer(make_concat_config(c.axis));
    LayerHarness h(c.bottoms, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok()) << c.expect[0];
    EXPECT_NE(s.message().find("'cat'"), std::string::npos) << s.message();
    for (const std::string& e : c.expect) {
      EXPECT_NE(s.message().find(e), std::string::npos) << s.message();
    }
  }
  auto layer = new_concat_layer(make_concat_config(1));
  LayerHarness h({}, 1);
  EXPECT_FALSE(h.setup(*layer).ok());
}

TEST(ConcatLayerTest, ForwardMatchesIndexReference) {
  for (int axis : {0, 1, 2}) {
    std::vector<Shape> shapes{Shape{2, 3, 4}, Shape{2, 3, 4}, Shape{2, 3, 4}};
    for (size_t b = 0; b < shapes.size(); ++b) shapes[b].set_dim(axis, static_cast<int64_t>(b) + 1);
    auto layer = new_concat_layer(make_concat_config(axis));
    LayerHarness h(shapes, 1, 4);
    ASSERT_TRUE(h.setup(*layer).ok());
    layer->forward(h.bottom(), h.top(), h.ctx());
    const Shape& ts = h.top()[0]->shape();
    for (int64_t i = 0; i < ts.count(); ++i) {
      std::vector<int64_t> idx = unravel(i, ts);
      size_t b = 0;
      while (idx[axis] >= shapes[b].dim(axis)) idx[axis] -= shapes[b++].dim(axis);
      EXPECT_EQ(h.top()[0]->data()[i], h.bottom()[b]->data()[ravel(idx, shapes[b])])
          << "axis " << axis << " element " << i;
    }
  }
}

TEST(ConcatLayerTest, GradientsMatchFiniteDifferences) {
  for (int axis : {1, -1}) {
    auto layer = new_concat_layer(make_concat_config(axis));
    LayerHarness h({Shape{2, 3, 3}, Shape{2, 3, 3}, Shape{2, 3, 3}}, 1, 5);
    ASSERT_TRUE(h.setup(*layer).ok());
    check_gradients(*layer, h);
  }
}

TEST(ConcatLayerTest, BottomGradientsAreOverwritten) {
  auto layer = new_concat_layer(make_concat_config(1));
  LayerHarness h({Shape{2, 3}, Shape{2, 5}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

TEST(ConcatLayerTest, OnlyPropagatingBottomsReceiveGradients) {
  auto layer = new_concat_layer(make_concat_config(1));
  LayerHarness h({Shape{2, 3}, Shape{2, 2}, Shape{2, 4}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  layer->forward(h.bottom(), h.top(), h.ctx());
  fill_gaussian(h.top()[0]->diff(), h.top()[0]->count(), 3);
  for (Blob* b : h.bottom()) std::fill(b->diff(), b->diff() + b->count(), 9.0f);
  layer->backward(h.top(), {true, false, true}, h.bottom(), h.ctx());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h.bottom()[1]->diff()[i], 9.0f);
  const float* dy = h.top()[0]->diff();
  for (int n = 0; n < 2; ++n) {
    for (int c = 0; c < 3; ++c) EXPECT_EQ(h.bottom()[0]->diff()[n * 3 + c], dy[n * 9 + c]);
    for (int c = 0; c < 4; ++c) EXPECT_EQ(h.bottom()[2]->diff()[n * 4 + c], dy[n * 9 + 5 + c]);
  }
}

}  // namespace
}  // namespace banyan
