// Tests of the Bias layer: the learned bias's shape for Caffe's axis and
// num_axes, the bias given as a second bottom (any trailing span, or a
// scalar), forward against a reference, gradients for x and the bias,
// accumulation (parameter) versus overwrite (bottom), in place, and errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::check_in_place_matches;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;

LayerConfig bias_config(int axis, int num_axes) {
  LayerConfig c;
  c.name = "bias1";
  c.type = "Bias";
  c.bias.axis = axis;
  c.bias.num_axes = num_axes;
  return c;
}

// y[k] == x[k] + b[d] with d from the span [first, last) of x's axes.
void expect_forward(const Blob& x, const float* b, const Blob& y, int first, int last) {
  const Shape& s = x.shape();
  const int64_t dim = s.count(first, last), inner = s.count(last);
  for (int64_t k = 0; k < x.count(); ++k) {
    EXPECT_EQ(y.data()[k], x.data()[k] + b[(k / inner) % dim]) << k;
  }
}

TEST(BiasLayerTest, LearnedBiasFollowsAxisAndNumAxes) {
  const Shape bottom{2, 3, 4, 5};
  struct Case {
    int axis, num_axes, first, last;
  };
  for (const Case& c : {Case{1, 1, 1, 2}, Case{1, 2, 1, 3}, Case{-1, 1, 3, 4}, Case{0, -1, 0, 4},
                        Case{2, 0, 2, 2}}) {
    SCOPED_TRACE("axis " + std::to_string(c.axis) + " num_axes " + std::to_string(c.num_axes));
    auto layer = new_bias_layer(bias_config(c.axis, c.num_axes));
    LayerHarness h({bottom}, 1, 4);
    ASSERT_TRUE(h.setup(*layer).ok());
    ASSERT_EQ(layer->params().size(), 1u);
    const std::vector<int64_t> dims(bottom.dims().begin() + c.first,
                                    bottom.dims().begin() + c.last);
    EXPECT_EQ(layer->params()[0].blob->shape(), Shape(dims));
    EXPECT_EQ(layer->params()[0].filler.value, 0.0f);
    layer->forward(h.bottom(), h.top(), h.ctx());
    expect_forward(*h.bottom()[0], layer->params()[0].blob->data(), *h.top()[0], c.first, c.last);
    GradientCheckOptions o;
    o.step = 1e-3f;
    check_gradients(*layer, h, o);
    check_accumulates_twice(*layer, h);
  }
}

TEST(BiasLayerTest, BiasBottomGetsItsGradient) {
  struct Case {
    int axis;
    Shape bias;
    int first, last;
  };
  for (const Case& c : {Case{1, Shape{3, 4}, 1, 3}, Case{-1, Shape{5}, 3, 4},
                        Case{0, Shape{2, 3, 4, 5}, 0, 4}, Case{3, Shape{}, 0, 0}}) {
    SCOPED_TRACE("bias " + c.bias.to_string());
    auto layer = new_bias_layer(bias_config(c.axis, 7));  // num_axes unused
    LayerHarness h({Shape{2, 3, 4, 5}, c.bias}, 1, 5);
    ASSERT_TRUE(h.setup(*layer).ok());
    EXPECT_TRUE(layer->params().empty());
    layer->forward(h.bottom(), h.top(), h.ctx());
    expect_forward(*h.bottom()[0], h.bottom()[1]->data(), *h.top()[0], c.first, c.last);
    GradientCheckOptions o;
    o.step = 1e-3f;
    check_gradients(*layer, h, o);
    check_accumulates_twice(*layer, h);  // the bias bottom's gradient is overwritten
  }
}

TEST(BiasLayerTest, InPlaceMatchesOutOfPlace) {
  check_in_place_matches([] { return new_bias_layer(bias_config(1, 1)); }, Shape{3, 4, 5});
}

TEST(BiasLayerTest, RejectsBadShapes) {
  struct Case {
    int axis, num_axes;
    std::vector<Shape> bottoms;
    std::string expect;
  };
  const Case cases[] = {
      {4, 1, {Shape{2, 3, 4, 5}}, "axis 4 is out of range"},
      {2, 3, {Shape{2, 3, 4, 5}}, "reaches past"},
      {1, -2, {Shape{2, 3, 4, 5}}, "num_axes must be -1"},
      {1, 1, {Shape{2, 3, 4, 5}, Shape{4}}, "does not match"},
      {2, 1, {Shape{2, 3, 4, 5}, Shape{4, 5, 1}}, "does not match"},
  };
  for (const Case& c : cases) {
    auto layer = new_bias_layer(bias_config(c.axis, c.num_axes));
    LayerHarness h(c.bottoms, 1);
    const Status s = h.setup(*layer);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.expect;
    EXPECT_NE(s.message().find("'bias1'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace banyan
