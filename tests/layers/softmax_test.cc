// Tests of the Softmax layer: axes and errors, forward against a double
// reference (including very large inputs), gradients, accumulation.
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
using banyan::testing::LayerHarness;

LayerConfig make_softmax_config(int axis) {
  LayerConfig c;
  c.name = "prob";
  c.type = "Softmax";
  c.softmax.axis = axis;
  return c;
}

// Softmax of x (shape s) over `axis`, in double.
std::vector<double> reference_softmax(const float* x, const Shape& s, int axis) {
  const int a = s.canonical_axis(axis);
  const int64_t outer = s.count(0, a), channels = s.dim(a), inner = s.count(a + 1);
  std::vector<double> y(s.count());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t c) { return (o * channels + c) * inner + i; };
      double m = -INFINITY;
      for (int64_t c = 0; c < channels; ++c) m = std::max(m, static_cast<double>(x[at(c)]));
      double sum = 0.0;
      for (int64_t c = 0; c < channels; ++c) sum += std::exp(x[at(c)] - m);
      for (int64_t c = 0; c < channels; ++c) y[at(c)] = std::exp(x[at(c)] - m) / sum;
    }
  }
  return y;
}

TEST(SoftmaxLayerTest, ShapesAndAxisErrors) {
  for (int axis : {0, 1, 2, -1, -3}) {
    auto layer = new_softmax_layer(make_softmax_config(axis));
    LayerHarness h({Shape{2, 3, 5}}, 1);
    ASSERT_TRUE(h.setup(*layer).ok()) << axis;
    EXPECT_EQ(h.top()[0]->shape(), (Shape{2, 3, 5}));
  }
  for (int axis : {3, -4}) {
    auto layer = new_softmax_layer(make_softmax_config(axis));
    LayerHarness h({Shape{2, 3, 5}}, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("'prob'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("axis " + std::to_string(axis)), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("(2, 3, 5)"), std::string::npos) << s.message();
  }
  auto layer = new_softmax_layer(make_softmax_config(1));
  LayerHarness h({Shape{2, 0, 5}}, 1);
  EXPECT_FALSE(h.setup(*layer).ok());
}

TEST(SoftmaxLayerTest, ForwardMatchesReferenceOnEveryAxis) {
  const Shape shape{3, 4, 5};
  for (int axis : {0, 1, 2, -1}) {
    auto layer = new_softmax_layer(make_softmax_config(axis));
    LayerHarness h({shape}, 1, 7);
    ASSERT_TRUE(h.setup(*layer).ok());
    layer->forward(h.bottom(), h.top(), h.ctx());
    std::vector<double> ref = reference_softmax(h.bottom()[0]->data(), shape, axis);
    for (int64_t i = 0; i < shape.count(); ++i) {
      EXPECT_NEAR(h.top()[0]->data()[i], ref[i], 1e-6) << "axis " << axis << " i " << i;
    }
  }
}

TEST(SoftmaxLayerTest, StableForLargeInputs) {
  const Shape shape{2, 6, 3};
  auto layer = new_softmax_layer(make_softmax_config(1));
  LayerHarness h({shape}, 1, 9);
  ASSERT_TRUE(h.setup(*layer).ok());
  float* x = h.bottom()[0]->data();
  for (int64_t i = 0; i < shape.count(); ++i)
    x[i] = 1000.0f + 5.0f * x[i] + (i % 2 ? -3000.0f : 0.0f);
  layer->forward(h.bottom(), h.top(), h.ctx());
  std::vector<double> ref = reference_softmax(x, shape, 1);
  for (int64_t i = 0; i < shape.count(); ++i) {
    ASSERT_TRUE(std::isfinite(h.top()[0]->data()[i])) << i;
    EXPECT_NEAR(h.top()[0]->data()[i], ref[i], 1e-6) << i;
  }
}

TEST(SoftmaxLayerTest, GradientsMatchFiniteDifferences) {
  for (int axis : {1, -1, 0}) {
    auto layer = new_softmax_layer(make_softmax_config(axis));
    LayerHarness h({Shape{2, 3, 2, 3}}, 1, 13);
    ASSERT_TRUE(h.setup(*layer).ok());
    check_gradients(*layer, h);
  }
}

TEST(SoftmaxLayerTest, BottomGradientIsOverwritten) {
  auto layer = new_softmax_layer(make_softmax_config(1));
  LayerHarness h({Shape{3, 5}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

}  // namespace
}  // namespace banyan
