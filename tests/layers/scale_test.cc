// Tests of the Scale layer: gamma shapes for Caffe's axis/num_axes, fillers
// and multipliers, config errors (two bottoms unsupported), forward against a
// double reference, gradients for the bottom, gamma and beta, accumulation.
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
using banyan::testing::fill_gaussian;
using banyan::testing::LayerHarness;

LayerConfig make_scale_config(int axis, int num_axes, bool bias) {
  LayerConfig c;
  c.name = "scale1";
  c.type = "Scale";
  c.scale.axis = axis;
  c.scale.num_axes = num_axes;
  c.scale.bias_term = bias;
  c.scale.filler.value = 1.0f;
  c.scale.bias_filler.value = 0.2f;
  return c;
}

TEST(ScaleLayerTest, GammaShapeFollowsAxisAndNumAxes) {
  const Shape bottom{2, 3, 4, 5};
  struct Case {
    int axis, num_axes;
    Shape gamma;
  };
  const Case cases[] = {
      {1, 1, Shape{3}}, {1, 2, Shape{3, 4}},  {-1, 1, Shape{5}},
      {0, -1, bottom},  {2, -1, Shape{4, 5}}, {1, 0, Shape{}},
  };
  for (const Case& c : cases) {
    for (bool bias : {false, true}) {
      auto layer = new_scale_layer(make_scale_config(c.axis, c.num_axes, bias));
      LayerHarness h({bottom}, 1);
      ASSERT_TRUE(h.setup(*layer).ok()) << c.gamma.to_string();
      EXPECT_EQ(h.top()[0]->shape(), bottom);
      ASSERT_EQ(layer->params().size(), bias ? 2u : 1u);
      for (const LayerParam& p : layer->params()) {
        EXPECT_EQ(p.blob->shape(), c.gamma) << c.axis << "," << c.num_axes;
        EXPECT_TRUE(p.learnable);
      }
    }
  }
}

TEST(ScaleLayerTest, FillersAndMultipliersComeFromTheConfig) {
  LayerConfig c = make_scale_config(1, 1, true);
  c.param.resize(2);
  c.param[0].lr_mult = 2.0f;
  c.param[1].decay_mult = 0.0f;
  auto layer = new_scale_layer(c);
  LayerHarness h({Shape{2, 3}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  EXPECT_EQ(layer->params()[0].filler.value, 1.0f);
  EXPECT_EQ(layer->params()[1].filler.value, 0.2f);
  EXPECT_EQ(layer->params()[0].lr_mult, 2.0f);
  EXPECT_EQ(layer->params()[1].decay_mult, 0.0f);
}

TEST(ScaleLayerTest, RejectsBadConfig) {
  {
    auto layer = new_scale_layer(make_scale_config(1, 1, false));
    LayerHarness h({Shape{2, 3}, Shape{3}}, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
    EXPECT_NE(s.message().find("'scale1'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("not supported"), std::string::npos) << s.message();
  }
  struct Case {
    int axis, num_axes;
    std::string expect;
  };
  const Case cases[] = {
      {4, 1, "axis 4 is out of range"},
      {2, 3, "axis 2 with num_axes 3 reaches past"},
      {1, -2, "num_axes must be -1"},
  };
  for (const Case& c : cases) {
    auto layer = new_scale_layer(make_scale_config(c.axis, c.num_axes, false));
    LayerHarness h({Shape{2, 3, 4, 5}}, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok()) << c.expect;
    EXPECT_NE(s.message().find("'scale1'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
}

TEST(ScaleLayerTest, ForwardMatchesReference) {
  const Shape bottom{2, 3, 4, 5};
  struct Case {
    int axis, num_axes;
    int first, last;  // canonical range of gamma's axes
  };
  for (const Case& c : {Case{1, 1, 1, 2}, Case{1, 2, 1, 3}, Case{-1, 1, 3, 4}, Case{0, -1, 0, 4},
                        Case{2, 0, 2, 2}}) {
    auto layer = new_scale_layer(make_scale_config(c.axis, c.num_axes, true));
    LayerHarness h({bottom}, 1, 4);
    ASSERT_TRUE(h.setup(*layer).ok());
    layer->forward(h.bottom(), h.top(), h.ctx());
    const float* gamma = layer->params()[0].blob->data();
    const float* beta = layer->params()[1].blob->data();
    for (int64_t i = 0; i < bottom.count(); ++i) {
      // Index into gamma: the multi-index restricted to axes [first, last).
      int64_t rest = i, g = 0, stride = 1;
      for (int d = bottom.num_axes() - 1; d >= 0; --d) {
        const int64_t idx = rest % bottom.dim(d);
        rest /= bottom.dim(d);
        if (d >= c.first && d < c.last) {
          g += idx * stride;
          stride *= bottom.dim(d);
        }
      }
      const double expect = static_cast<double>(h.bottom()[0]->data()[i]) * gamma[g] + beta[g];
      EXPECT_NEAR(h.top()[0]->data()[i], expect, 1e-6 * std::max(1.0, std::fabs(expect)))
          << "axis " << c.axis << " num_axes " << c.num_axes << " i " << i;
    }
  }
}

TEST(ScaleLayerTest, GradientsMatchFiniteDifferences) {
  struct Case {
    int axis, num_axes;
    bool bias;
  };
  for (const Case& c : {Case{1, 1, false}, Case{1, 1, true}, Case{1, 2, true}, Case{-1, 1, true},
                        Case{0, 0, true}}) {
    auto layer = new_scale_layer(make_scale_config(c.axis, c.num_axes, c.bias));
    LayerHarness h({Shape{2, 3, 2, 3}}, 1, 5);
    ASSERT_TRUE(h.setup(*layer).ok());
    check_gradients(*layer, h);
  }
}

TEST(ScaleLayerTest, ParamGradientsAccumulateBottomOverwritten) {
  auto layer = new_scale_layer(make_scale_config(1, 1, true));
  LayerHarness h({Shape{3, 4, 2}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

TEST(ScaleLayerTest, ParamGradientsWithoutBottomPropagation) {
  auto layer = new_scale_layer(make_scale_config(1, 1, true));
  LayerHarness h({Shape{2, 3, 2}}, 1, 6);
  ASSERT_TRUE(h.setup(*layer).ok());
  layer->forward(h.bottom(), h.top(), h.ctx());
  fill_gaussian(h.top()[0]->diff(), 12, 2);
  std::fill(h.bottom()[0]->diff(), h.bottom()[0]->diff() + 12, 5.0f);
  for (LayerParam& p : layer->params()) std::fill(p.blob->diff(), p.blob->diff() + 3, 0.0f);
  layer->backward(h.top(), {false}, h.bottom(), h.ctx());
  for (int i = 0; i < 12; ++i) EXPECT_EQ(h.bottom()[0]->diff()[i], 5.0f);
  const float* x = h.bottom()[0]->data();
  const float* dy = h.top()[0]->diff();
  for (int c = 0; c < 3; ++c) {
    double dgamma = 0.0, dbeta = 0.0;
    for (int n = 0; n < 2; ++n) {
      for (int i = 0; i < 2; ++i) {
        const int k = (n * 3 + c) * 2 + i;
        dgamma += static_cast<double>(dy[k]) * x[k];
        dbeta += dy[k];
      }
    }
    EXPECT_NEAR(layer->params()[0].blob->diff()[c], dgamma, 1e-5) << c;
    EXPECT_NEAR(layer->params()[1].blob->diff()[c], dbeta, 1e-5) << c;
  }
}

}  // namespace
}  // namespace banyan
