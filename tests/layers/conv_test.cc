// Tests of the Convolution layer: top and parameter shapes (stride, pad,
// dilation, groups, non-square kernels), config errors, forward against a
// direct 7-loop convolution in double, finite-difference gradients for the
// bottom, weight and bias, and gradient accumulation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"
#include "tests/layers/layer_cases.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::ConvCase;
using banyan::testing::fill_gaussian;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;
using banyan::testing::make_conv_config;

// Direct convolution in double, written from the definition: every output
// pixel sums over its group's input channels and the kernel taps.
std::vector<double> reference_conv(const Blob& x, const Blob& w, const Blob* b, const ConvCase& k,
                                   const Shape& top_shape) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t K = top_shape.dim(1), Ho = top_shape.dim(2), Wo = top_shape.dim(3);
  const int64_t cg = C / k.group, kg = K / k.group;
  std::vector<double> y(static_cast<size_t>(top_shape.count()));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t o = 0; o < K; ++o) {
      const int64_t g = o / kg;
      for (int64_t oy = 0; oy < Ho; ++oy) {
        for (int64_t ox = 0; ox < Wo; ++ox) {
          double sum = b != nullptr ? b->data()[o] : 0.0;
          for (int64_t c = 0; c < cg; ++c) {
            for (int i = 0; i < k.kernel_h; ++i) {
              for (int j = 0; j < k.kernel_w; ++j) {
                const int64_t iy = oy * k.stride_h - k.pad_h + i * k.dilation_h;
                const int64_t ix = ox * k.stride_w - k.pad_w + j * k.dilation_w;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                const double xv = x.data()[((n * C + g * cg + c) * H + iy) * W + ix];
                const double wv = w.data()[((o * cg + c) * k.kernel_h + i) * k.kernel_w + j];
                sum += xv * wv;
              }
            }
          }
          y[((n * K + o) * Ho + oy) * Wo + ox] = sum;
        }
      }
    }
  }
  return y;
}

TEST(ConvolutionLayerTest, TopAndParamShapes) {
  struct Case {
    Shape bottom;
    ConvCase conv;
    Shape top;
  };
  const Case cases[] = {
      {Shape{2, 3, 7, 7}, {4, 3, 3}, Shape{2, 4, 5, 5}},
      // Odd sizes, stride 2x3, pad 1x0, non-square kernel.
      {Shape{1, 3, 9, 8}, {2, 3, 2, 2, 3, 1, 0}, Shape{1, 2, 5, 3}},
      // Dilation 2 with pad 2 keeps the size; two groups.
      {Shape{1, 4, 11, 11}, {6, 3, 3, 1, 1, 2, 2, 2, 2, 2}, Shape{1, 6, 11, 11}},
      // Different dilations per axis: extents 7 and 3.
      {Shape{2, 2, 10, 6}, {3, 3, 2, 1, 1, 0, 0, 3, 2}, Shape{2, 3, 4, 4}},
      // AlexNet conv1 and conv2 (published shapes).
      {Shape{1, 3, 227, 227}, {96, 11, 11, 4, 4}, Shape{1, 96, 55, 55}},
      {Shape{1, 96, 27, 27}, {256, 5, 5, 1, 1, 2, 2, 1, 1, 2}, Shape{1, 256, 27, 27}},
      // 1x1 convolution without bias.
      {Shape{3, 5, 4, 6}, {7, 1, 1, 1, 1, 0, 0, 1, 1, 1, false}, Shape{3, 7, 4, 6}},
      // Kernel exactly the padded input.
      {Shape{1, 1, 3, 3}, {1, 5, 5, 1, 1, 1, 1}, Shape{1, 1, 1, 1}},
  };
  for (const Case& c : cases) {
    auto layer = new_convolution_layer(make_conv_config(c.conv));
    LayerHarness h({c.bottom}, 1);
    ASSERT_TRUE(h.setup(*layer).ok()) << c.bottom.to_string();
    EXPECT_EQ(h.top()[0]->shape(), c.top) << c.bottom.to_string();
    ASSERT_EQ(layer->params().size(), c.conv.bias ? 2u : 1u);
    EXPECT_EQ(layer->params()[0].blob->shape(),
              (Shape{c.conv.num_output, c.bottom.dim(1) / c.conv.group, c.conv.kernel_h,
                     c.conv.kernel_w}));
    EXPECT_EQ(layer->params()[0].filler.type, "gaussian");
    if (c.conv.bias) {
      EXPECT_EQ(layer->params()[1].blob->shape(), Shape{c.conv.num_output});
      EXPECT_EQ(layer->params()[1].filler.value, 0.1f);
    }
  }
}

TEST(ConvolutionLayerTest, AlexNetConv2WeightShape) {
  auto layer = new_convolution_layer(make_conv_config({256, 5, 5, 1, 1, 2, 2, 1, 1, 2}));
  LayerHarness h({Shape{1, 96, 27, 27}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  EXPECT_EQ(layer->params()[0].blob->shape(), (Shape{256, 48, 5, 5}));
}

void expect_setup_error(const ConvCase& k, std::vector<Shape> bottoms, int tops,
                        const std::string& fragment, int axis = 1) {
  LayerConfig config = make_conv_config(k);
  config.convolution.axis = axis;
  auto layer = new_convolution_layer(config);
  LayerHarness h(std::move(bottoms), tops);
  Status s = h.setup(*layer);
  ASSERT_FALSE(s.ok()) << fragment;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'conv1'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

TEST(ConvolutionLayerTest, RejectsBadConfig) {
  const Shape ok{2, 4, 6, 6};
  expect_setup_error({4, 3, 3}, {Shape{4, 6, 6}}, 1, "(4, 6, 6)");
  expect_setup_error({4, 3, 3, 1, 1, 0, 0, 1, 1, 3}, {Shape{2, 6, 6, 6}}, 1, "group 3");
  expect_setup_error({4, 3, 3, 1, 1, 0, 0, 1, 1, 3}, {Shape{2, 6, 6, 6}}, 1, "num_output 4");
  expect_setup_error({4, 3, 3, 1, 1, 0, 0, 1, 1, 4}, {Shape{2, 6, 6, 6}}, 1, "channels 6");
  expect_setup_error({4, 9, 3}, {ok}, 1, "kernel 9x3");
  expect_setup_error({4, 3, 3, 1, 1, 0, 0, 3, 3}, {ok}, 1, "dilation 3x3");
  expect_setup_error({0, 3, 3}, {ok}, 1, "num_output must be positive, got 0");
  expect_setup_error({4, 3, 0}, {ok}, 1, "3x0");
  expect_setup_error({4, 3, 3, 0, 1}, {ok}, 1, "stride must be positive, got 0x1");
  expect_setup_error({4, 3, 3, 1, 1, -1, 0}, {ok}, 1, "pad must be >= 0, got -1x0");
  expect_setup_error({4, 3, 3}, {ok}, 1, "NCHW), got 2", 2);
  expect_setup_error({4, 3, 3}, {ok, ok}, 1, "got 2");
  expect_setup_error({4, 3, 3}, {ok}, 2, "got 2");
}

// A bottom shape and a convolution, printed readably in test names' output.
struct ConvTestCase {
  Shape bottom;
  ConvCase conv;
};

void PrintTo(const ConvTestCase& c, std::ostream* os) {
  const ConvCase& k = c.conv;
  *os << "bottom " << c.bottom.to_string() << " num_output " << k.num_output << " kernel "
      << k.kernel_h << "x" << k.kernel_w << " stride " << k.stride_h << "x" << k.stride_w << " pad "
      << k.pad_h << "x" << k.pad_w << " dilation " << k.dilation_h << "x" << k.dilation_w
      << " group " << k.group << (k.bias ? " bias" : " no bias");
}

const ConvTestCase kForwardCases[] = {
    {Shape{2, 3, 7, 7}, {4, 3, 3}},
    {Shape{2, 3, 9, 8}, {5, 3, 2, 2, 3, 1, 0}},
    {Shape{1, 4, 9, 10}, {6, 3, 3, 1, 2, 2, 1, 2, 2, 2}},
    {Shape{2, 6, 8, 7}, {9, 2, 3, 2, 1, 1, 2, 3, 1, 3}},
    {Shape{2, 5, 4, 6}, {3, 1, 1, 1, 1, 0, 0, 1, 1, 1, false}},
    {Shape{1, 4, 5, 5}, {4, 1, 1, 2, 2, 1, 1, 1, 1, 2}},
    {Shape{1, 2, 3, 3}, {2, 5, 5, 1, 1, 1, 1}},
};

class ConvolutionForwardTest : public ::testing::TestWithParam<ConvTestCase> {};

TEST_P(ConvolutionForwardTest, MatchesDirectConvolution) {
  const Shape& shape = GetParam().bottom;
  const ConvCase& k = GetParam().conv;
  auto layer = new_convolution_layer(make_conv_config(k));
  LayerHarness h({shape}, 1, 7);
  ASSERT_TRUE(h.setup(*layer).ok());
  Blob* top = h.top()[0];
  std::fill(top->data(), top->data() + top->count(), std::numeric_limits<float>::quiet_NaN());
  layer->forward(h.bottom(), h.top(), h.ctx());
  const Blob* bias = k.bias ? layer->params()[1].blob.get() : nullptr;
  std::vector<double> ref =
      reference_conv(*h.bottom()[0], *layer->params()[0].blob, bias, k, top->shape());
  ASSERT_EQ(ref.size(), static_cast<size_t>(top->count()));
  double max_abs = 0.0;
  for (double v : ref) max_abs = std::max(max_abs, std::fabs(v));
  ASSERT_GT(max_abs, 0.1);
  for (int64_t i = 0; i < top->count(); ++i) {
    ASSERT_NEAR(top->data()[i], ref[i], 1e-4 * std::max(1.0, std::fabs(ref[i]))) << "element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, ConvolutionForwardTest, ::testing::ValuesIn(kForwardCases));

const ConvTestCase kGradientCases[] = {
    {Shape{2, 3, 5, 5}, {2, 3, 3}},
    // Groups + dilation + stride + pad, non-square everything.
    {Shape{2, 4, 7, 6}, {4, 3, 2, 2, 1, 1, 1, 2, 2, 2}},
    {Shape{1, 6, 6, 7}, {3, 2, 3, 1, 2, 1, 0, 1, 2, 3}},
    // Pointwise path (no column buffer), without bias.
    {Shape{2, 4, 3, 4}, {3, 1, 1, 1, 1, 0, 0, 1, 1, 1, false}},
    {Shape{2, 4, 3, 4}, {6, 1, 1, 1, 1, 0, 0, 1, 1, 2}},
};

class ConvolutionGradientTest : public ::testing::TestWithParam<ConvTestCase> {};

TEST_P(ConvolutionGradientTest, MatchesFiniteDifferences) {
  const Shape& shape = GetParam().bottom;
  const ConvCase& k = GetParam().conv;
  auto layer = new_convolution_layer(make_conv_config(k));
  LayerHarness h({shape}, 1, 3);
  ASSERT_TRUE(h.setup(*layer).ok());
  GradientCheckOptions o;
  o.step = 1e-2f;
  o.threshold = 1e-2f;
  check_gradients(*layer, h, o);
}

TEST_P(ConvolutionGradientTest, ParamGradientsAccumulate) {
  const Shape& shape = GetParam().bottom;
  const ConvCase& k = GetParam().conv;
  auto layer = new_convolution_layer(make_conv_config(k));
  LayerHarness h({shape}, 1, 5);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

INSTANTIATE_TEST_SUITE_P(Configs, ConvolutionGradientTest, ::testing::ValuesIn(kGradientCases));

TEST(ConvolutionLayerTest, NoBottomGradientWhenNotPropagating) {
  auto layer = new_convolution_layer(make_conv_config({3, 3, 3, 1, 1, 1, 1}));
  LayerHarness h({Shape{2, 2, 5, 5}}, 1, 11);
  ASSERT_TRUE(h.setup(*layer).ok());
  layer->forward(h.bottom(), h.top(), h.ctx());
  fill_gaussian(h.top()[0]->diff(), h.top()[0]->count(), 99);
  Blob* x = h.bottom()[0];
  std::fill(x->diff(), x->diff() + x->count(), 7.0f);
  for (LayerParam& p : layer->params())
    std::fill(p.blob->diff(), p.blob->diff() + p.blob->count(), 0.0f);
  layer->backward(h.top(), {false}, h.bottom(), h.ctx());
  for (int64_t i = 0; i < x->count(); ++i) ASSERT_EQ(x->diff()[i], 7.0f) << i;
  double norm = 0.0;
  const Blob* w = layer->params()[0].blob.get();
  for (int64_t i = 0; i < w->count(); ++i) norm += std::fabs(w->diff()[i]);
  EXPECT_GT(norm, 0.0);
}

}  // namespace
}  // namespace banyan
