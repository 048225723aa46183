// Tests of the InnerProduct layer: top and weight shapes for several axes and
// both weight layouts, config errors, forward against a double reference,
// finite-difference gradients for the bottom, weight and bias, accumulation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::fill_gaussian;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;

LayerConfig make_ip_config(int num_output, int axis, bool transpose, bool bias) {
  LayerConfig c;
  c.name = "fc6";
  c.type = "InnerProduct";
  c.inner_product.num_output = num_output;
  c.inner_product.axis = axis;
  c.inner_product.transpose = transpose;
  c.inner_product.bias_term = bias;
  c.inner_product.weight_filler.type = "xavier";
  c.inner_product.bias_filler.value = 0.5f;
  return c;
}

TEST(InnerProductLayerTest, TopAndParamShapes) {
  struct Case {
    Shape bottom;
    int num_output, axis;
    bool transpose, bias;
    Shape top, weight;
  };
  const Case cases[] = {
      {Shape{2, 3, 4, 5}, 7, 1, false, true, Shape{2, 7}, Shape{7, 60}},
      {Shape{2, 3, 4, 5}, 7, 1, true, true, Shape{2, 7}, Shape{60, 7}},
      {Shape{2, 3, 4, 5}, 6, 2, false, false, Shape{2, 3, 6}, Shape{6, 20}},
      {Shape{2, 3, 4, 5}, 4, -1, false, true, Shape{2, 3, 4, 4}, Shape{4, 5}},
      {Shape{5, 9}, 3, 1, true, false, Shape{5, 3}, Shape{9, 3}},
      {Shape{5, 9}, 3, 0, false, true, Shape{3}, Shape{3, 45}},
      // LeNet ip1 (published shape).
      {Shape{1, 50, 4, 4}, 500, 1, false, true, Shape{1, 500}, Shape{500, 800}},
  };
  for (const Case& c : cases) {
    auto layer = new_inner_product_layer(make_ip_config(c.num_output, c.axis, c.transpose, c.bias));
    LayerHarness h({c.bottom}, 1);
    ASSERT_TRUE(h.setup(*layer).ok()) << c.bottom.to_string();
    EXPECT_EQ(h.top()[0]->shape(), c.top) << c.bottom.to_string() << " axis " << c.axis;
    ASSERT_EQ(layer->params().size(), c.bias ? 2u : 1u);
    EXPECT_EQ(layer->params()[0].blob->shape(), c.weight);
    EXPECT_EQ(layer->params()[0].filler.type, "xavier");
    if (c.bias) {
      EXPECT_EQ(layer->params()[1].blob->shape(), Shape{c.num_output});
      EXPECT_EQ(layer->params()[1].filler.value, 0.5f);
    }
    // The default CPU backend's small-batch forward goes through y^T.
    const int64_t rows = c.top.count() / c.num_output;
    const size_t expected = rows < c.num_output ? static_cast<size_t>(rows * c.num_output) : 0;
    EXPECT_EQ(layer->workspace_floats(), expected) << c.bottom.to_string();
    auto reference =
        new_inner_product_layer(make_ip_config(c.num_output, c.axis, c.transpose, c.bias));
    reference->set_cpu_options({1, CpuBackend::kReference});
    LayerHarness hr({c.bottom}, 1);
    ASSERT_TRUE(hr.setup(*reference).ok());
    EXPECT_EQ(reference->workspace_floats(), 0u);
  }
}

void expect_setup_error(const LayerConfig& config, std::vector<Shape> bottoms, int tops,
                        const std::string& fragment) {
  auto layer = new_inner_product_layer(config);
  LayerHarness h(std::move(bottoms), tops);
  Status s = h.setup(*layer);
  ASSERT_FALSE(s.ok()) << fragment;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'fc6'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

TEST(InnerProductLayerTest, RejectsBadConfig) {
  const Shape ok{2, 3, 4};
  expect_setup_error(make_ip_config(0, 1, false, true), {ok}, 1,
                     "num_output must be positive, got 0");
  expect_setup_error(make_ip_config(-5, 1, false, true), {ok}, 1, "got -5");
  expect_setup_error(make_ip_config(4, 3, false, true), {ok}, 1, "axis 3");
  expect_setup_error(make_ip_config(4, -4, false, true), {ok}, 1, "axis -4");
  expect_setup_error(make_ip_config(4, 1, false, true), {ok, ok}, 1, "got 2");
  expect_setup_error(make_ip_config(4, 1, false, true), {ok}, 0, "got 0");
}

struct IpParams {
  Shape bottom;
  int num_output, axis;
  bool transpose, bias;
};

void PrintTo(const IpParams& p, std::ostream* os) {
  *os << "bottom " << p.bottom.to_string() << " num_output " << p.num_output << " axis " << p.axis
      << (p.transpose ? " transposed" : "") << (p.bias ? " bias" : " no bias");
}

const IpParams kIpConfigs[] = {
    {Shape{3, 2, 3, 2}, 5, 1, false, true}, {Shape{3, 2, 3, 2}, 5, 1, true, true},
    {Shape{2, 3, 5}, 4, 2, false, false},   {Shape{2, 3, 5}, 4, -1, true, true},
    {Shape{4, 7}, 1, 1, false, true},
};

class InnerProductForwardTest : public ::testing::TestWithParam<IpParams> {};

TEST_P(InnerProductForwardTest, MatchesReference) {
  const auto& [shape, num_output, axis, transpose, bias] = GetParam();
  auto layer = new_inner_product_layer(make_ip_config(num_output, axis, transpose, bias));
  LayerHarness h({shape}, 1, 51);
  ASSERT_TRUE(h.setup(*layer).ok());
  Blob* top = h.top()[0];
  std::fill(top->data(), top->data() + top->count(), std::numeric_limits<float>::quiet_NaN());
  layer->forward(h.bottom(), h.top(), h.ctx());
  const int a = shape.canonical_axis(axis);
  const int64_t M = shape.count(0, a), K = shape.count(a);
  const float* x = h.bottom()[0]->data();
  const float* w = layer->params()[0].blob->data();
  const float* b = bias ? layer->params()[1].blob->data() : nullptr;
  ASSERT_EQ(top->count(), M * num_output);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t o = 0; o < num_output; ++o) {
      double sum = b != nullptr ? b[o] : 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const double wv = transpose ? w[k * num_output + o] : w[o * K + k];
        sum += static_cast<double>(x[m * K + k]) * wv;
      }
      ASSERT_NEAR(top->data()[m * num_output + o], sum, 1e-5 * std::max(1.0, std::fabs(sum)))
          << "row " << m << " output " << o;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, InnerProductForwardTest, ::testing::ValuesIn(kIpConfigs));

class InnerProductGradientTest : public ::testing::TestWithParam<IpParams> {};

TEST_P(InnerProductGradientTest, MatchesFiniteDifferences) {
  const auto& [shape, num_output, axis, transpose, bias] = GetParam();
  auto layer = new_inner_product_layer(make_ip_config(num_output, axis, transpose, bias));
  LayerHarness h({shape}, 1, 53);
  ASSERT_TRUE(h.setup(*layer).ok());
  GradientCheckOptions o;
  o.step = 1e-2f;
  o.threshold = 1e-2f;
  check_gradients(*layer, h, o);
}

TEST_P(InnerProductGradientTest, ParamGradientsAccumulate) {
  const auto& [shape, num_output, axis, transpose, bias] = GetParam();
  auto layer = new_inner_product_layer(make_ip_config(num_output, axis, transpose, bias));
  LayerHarness h({shape}, 1, 57);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

INSTANTIATE_TEST_SUITE_P(Configs, InnerProductGradientTest, ::testing::ValuesIn(kIpConfigs));

TEST(InnerProductLayerTest, NoBottomGradientWhenNotPropagating) {
  auto layer = new_inner_product_layer(make_ip_config(3, 1, false, true));
  LayerHarness h({Shape{2, 4}}, 1, 61);
  ASSERT_TRUE(h.setup(*layer).ok());
  layer->forward(h.bottom(), h.top(), h.ctx());
  fill_gaussian(h.top()[0]->diff(), h.top()[0]->count(), 5);
  Blob* b = h.bottom()[0];
  std::fill(b->diff(), b->diff() + b->count(), 7.0f);
  for (LayerParam& p : layer->params()) {
    std::fill(p.blob->diff(), p.blob->diff() + p.blob->count(), 0.0f);
  }
  layer->backward(h.top(), {false}, h.bottom(), h.ctx());
  for (int64_t i = 0; i < b->count(); ++i) ASSERT_EQ(b->diff()[i], 7.0f) << i;
  // The bias gradient is the column sum of dy.
  const float* dy = h.top()[0]->diff();
  for (int o = 0; o < 3; ++o) {
    EXPECT_NEAR(layer->params()[1].blob->diff()[o], dy[o] + dy[3 + o], 1e-6f) << o;
  }
}

}  // namespace
}  // namespace banyan
