// Tests of the Deconvolution layer: output and weight shapes (Caffe's
// formula and layout), config errors, forward against a direct scatter in
// double and against the input gradient of the Convolution it transposes,
// both CPU backends, finite-difference gradients and accumulation.
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

LayerConfig make_deconv_config(const ConvCase& k) {
  LayerConfig c = banyan::testing::make_conv_config(k);
  c.name = "up1";
  c.type = "Deconvolution";
  return c;
}

// y (N, K, Ho, Wo) from the definition: every input pixel scatters its
// weighted kernel; positions outside the output are dropped.
std::vector<double> reference_deconv(const Blob& x, const Blob& w, const Blob* b, const ConvCase& k,
                                     const Shape& top) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t K = top.dim(1), Ho = top.dim(2), Wo = top.dim(3);
  const int64_t cg = C / k.group, kg = K / k.group;
  std::vector<double> y(static_cast<size_t>(top.count()), 0.0);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      const int64_t g = c / cg;
      for (int64_t o = 0; o < kg; ++o) {
        for (int64_t iy = 0; iy < H; ++iy) {
          for (int64_t ix = 0; ix < W; ++ix) {
            const double v = x.data()[((n * C + c) * H + iy) * W + ix];
            for (int64_t i = 0; i < k.kernel_h; ++i) {
              for (int64_t j = 0; j < k.kernel_w; ++j) {
                const int64_t oy = iy * k.stride_h - k.pad_h + i * k.dilation_h;
                const int64_t ox = ix * k.stride_w - k.pad_w + j * k.dilation_w;
                if (oy < 0 || oy >= Ho || ox < 0 || ox >= Wo) continue;
                const double wv = w.data()[((c * kg + o) * k.kernel_h + i) * k.kernel_w + j];
                y[((n * K + g * kg + o) * Ho + oy) * Wo + ox] += wv * v;
              }
            }
          }
        }
      }
    }
  }
  if (b != nullptr) {
    for (int64_t i = 0; i < top.count(); ++i) y[i] += b->data()[(i / (Ho * Wo)) % K];
  }
  return y;
}

struct DeconvCase {
  Shape bottom;
  ConvCase conv;
  Shape top;
};

void PrintTo(const DeconvCase& c, std::ostream* os) {
  const ConvCase& k = c.conv;
  *os << "bottom " << c.bottom.to_string() << " num_output " << k.num_output << " kernel "
      << k.kernel_h << "x" << k.kernel_w << " stride " << k.stride_h << "x" << k.stride_w << " pad "
      << k.pad_h << "x" << k.pad_w << " dilation " << k.dilation_h << "x" << k.dilation_w
      << " group " << k.group << (k.bias ? " bias" : " no bias");
}

// Tops from Caffe's stride * (in - 1) + dilation * (kernel - 1) + 1 - 2 * pad.
const DeconvCase kDeconvCases[] = {
    // FCN's 2x upsampling: kernel 4, stride 2, pad 1.
    {Shape{2, 3, 5, 4}, {2, 4, 4, 2, 2, 1, 1}, Shape{2, 2, 10, 8}},
    {Shape{1, 2, 3, 3}, {3, 3, 3}, Shape{1, 3, 5, 5}},
    // Non-square kernel, stride 3x2, pad 0x1.
    {Shape{1, 3, 4, 5}, {2, 2, 3, 3, 2, 0, 1}, Shape{1, 2, 11, 9}},
    // Dilation 2x1, two groups.
    {Shape{2, 4, 3, 4}, {6, 3, 2, 1, 2, 1, 0, 2, 1, 2}, Shape{2, 6, 5, 8}},
    // 1x1 without bias (no column buffer).
    {Shape{2, 5, 3, 4}, {3, 1, 1, 1, 1, 0, 0, 1, 1, 1, false}, Shape{2, 3, 3, 4}},
    // 1x1 with stride 2: holes between the outputs.
    {Shape{1, 2, 3, 3}, {2, 1, 1, 2, 2}, Shape{1, 2, 5, 5}},
    // Three groups, stride larger than the kernel, no bias.
    {Shape{1, 3, 3, 2}, {6, 2, 2, 3, 3, 0, 0, 1, 1, 3, false}, Shape{1, 6, 8, 5}},
};

TEST(DeconvolutionLayerTest, ShapesFollowCaffe) {
  for (const DeconvCase& c : kDeconvCases) {
    SCOPED_TRACE(::testing::PrintToString(c));
    auto layer = new_deconvolution_layer(make_deconv_config(c.conv));
    LayerHarness h({c.bottom}, 1);
    ASSERT_TRUE(h.setup(*layer).ok());
    EXPECT_EQ(h.top()[0]->shape(), c.top);
    ASSERT_EQ(layer->params().size(), c.conv.bias ? 2u : 1u);
    // Caffe's deconvolution weight: (C_in, C_out / group, kh, kw).
    EXPECT_EQ(layer->params()[0].blob->shape(),
              (Shape{c.bottom.dim(1), c.conv.num_output / c.conv.group, c.conv.kernel_h,
                     c.conv.kernel_w}));
    if (c.conv.bias) {
      EXPECT_EQ(layer->params()[1].blob->shape(), Shape{c.conv.num_output});
    }
  }
}

void expect_setup_error(const ConvCase& k, const Shape& bottom, const std::string& fragment,
                        int axis = 1) {
  LayerConfig config = make_deconv_config(k);
  config.convolution.axis = axis;
  auto layer = new_deconvolution_layer(config);
  LayerHarness h({bottom}, 1);
  Status s = h.setup(*layer);
  ASSERT_FALSE(s.ok()) << fragment;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'up1' (Deconvolution)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

TEST(DeconvolutionLayerTest, RejectsBadConfig) {
  const Shape ok{1, 4, 3, 3};
  // 1 * (1 - 1) + 1 - 2 = -1: the pad crops everything.
  expect_setup_error({2, 1, 1, 1, 1, 1, 1}, Shape{1, 2, 1, 1}, "output size would be -1x-1");
  expect_setup_error({3, 3, 3, 1, 1, 0, 0, 1, 1, 2}, ok, "num_output 3 is not divisible by group");
  expect_setup_error({6, 3, 3, 1, 1, 0, 0, 1, 1, 3}, Shape{1, 4, 3, 3}, "input channels 4");
  expect_setup_error({0, 3, 3}, ok, "num_output must be positive, got 0");
  expect_setup_error({2, 0, 3}, ok, "kernel size must be positive, got 0x3");
  expect_setup_error({2, 3, 3}, Shape{4, 3, 3}, "must be 4-D");
  expect_setup_error({2, 3, 3}, ok, "axis must be 1", 2);
}

class DeconvolutionForwardTest : public ::testing::TestWithParam<DeconvCase> {};

TEST_P(DeconvolutionForwardTest, MatchesDirectScatterOnBothBackends) {
  const DeconvCase& c = GetParam();
  for (CpuBackend backend : {CpuBackend::kReference, CpuBackend::kDefault}) {
    auto layer = new_deconvolution_layer(make_deconv_config(c.conv));
    layer->set_cpu_options({1, backend});
    LayerHarness h({c.bottom}, 1, 7);
    ASSERT_TRUE(h.setup(*layer).ok());
    Blob* top = h.top()[0];
    std::fill(top->data(), top->data() + top->count(), std::numeric_limits<float>::quiet_NaN());
    layer->forward(h.bottom(), h.top(), h.ctx());
    const Blob* bias = c.conv.bias ? layer->params()[1].blob.get() : nullptr;
    const std::vector<double> ref =
        reference_deconv(*h.bottom()[0], *layer->params()[0].blob, bias, c.conv, top->shape());
    for (int64_t i = 0; i < top->count(); ++i) {
      ASSERT_NEAR(top->data()[i], ref[i], 1e-4 * std::max(1.0, std::fabs(ref[i])))
          << "element " << i << " backend " << static_cast<int>(backend);
    }
  }
}

// Deconvolution's forward is the bottom gradient of the Convolution from the
// top's shape to the bottom's with the same weight: run that Convolution's
// backward with dy = x.
TEST_P(DeconvolutionForwardTest, IsTheConvolutionsInputGradient) {
  DeconvCase c = GetParam();
  c.conv.bias = false;
  auto deconv = new_deconvolution_layer(make_deconv_config(c.conv));
  LayerHarness hd({c.bottom}, 1, 9);
  ASSERT_TRUE(hd.setup(*deconv).ok());
  deconv->forward(hd.bottom(), hd.top(), hd.ctx());

  ConvCase k = c.conv;
  k.num_output = static_cast<int>(c.bottom.dim(1));
  auto conv = new_convolution_layer(banyan::testing::make_conv_config(k));
  LayerHarness hc({hd.top()[0]->shape()}, 1, 10);
  ASSERT_TRUE(hc.setup(*conv).ok());
  ASSERT_EQ(hc.top()[0]->shape(), c.bottom);
  const Blob& w = *deconv->params()[0].blob;
  ASSERT_EQ(conv->params()[0].blob->shape(), w.shape());
  std::copy(w.data(), w.data() + w.count(), conv->params()[0].blob->data());
  conv->forward(hc.bottom(), hc.top(), hc.ctx());
  const Blob& x = *hd.bottom()[0];
  std::copy(x.data(), x.data() + x.count(), hc.top()[0]->diff());
  conv->backward(hc.top(), {true}, hc.bottom(), hc.ctx());
  const Blob& y = *hd.top()[0];
  for (int64_t i = 0; i < y.count(); ++i) {
    ASSERT_NEAR(y.data()[i], hc.bottom()[0]->diff()[i],
                1e-4 * std::max(1.0f, std::fabs(y.data()[i])))
        << "element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, DeconvolutionForwardTest, ::testing::ValuesIn(kDeconvCases));

class DeconvolutionGradientTest : public ::testing::TestWithParam<DeconvCase> {};

TEST_P(DeconvolutionGradientTest, MatchesFiniteDifferences) {
  const DeconvCase& c = GetParam();
  auto layer = new_deconvolution_layer(make_deconv_config(c.conv));
  LayerHarness h({c.bottom}, 1, 11);
  ASSERT_TRUE(h.setup(*layer).ok());
  GradientCheckOptions o;
  o.step = 1e-2f;
  o.threshold = 1e-2f;
  check_gradients(*layer, h, o);
}

TEST_P(DeconvolutionGradientTest, ParamGradientsAccumulate) {
  const DeconvCase& c = GetParam();
  auto layer = new_deconvolution_layer(make_deconv_config(c.conv));
  LayerHarness h({c.bottom}, 1, 13);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

INSTANTIATE_TEST_SUITE_P(Configs, DeconvolutionGradientTest, ::testing::ValuesIn(kDeconvCases));

TEST(DeconvolutionLayerTest, WeightGradientWithoutBottomGradient) {
  const DeconvCase& c = kDeconvCases[0];
  auto layer = new_deconvolution_layer(make_deconv_config(c.conv));
  LayerHarness h({c.bottom}, 1, 15);
  ASSERT_TRUE(h.setup(*layer).ok());
  layer->forward(h.bottom(), h.top(), h.ctx());
  fill_gaussian(h.top()[0]->diff(), h.top()[0]->count(), 3);
  Blob* b = h.bottom()[0];
  std::fill(b->diff(), b->diff() + b->count(), 7.0f);
  Blob* w = layer->params()[0].blob.get();
  std::fill(w->diff(), w->diff() + w->count(), 0.0f);
  layer->backward(h.top(), {false}, h.bottom(), h.ctx());
  for (int64_t i = 0; i < b->count(); ++i) ASSERT_EQ(b->diff()[i], 7.0f) << i;
  double norm = 0.0;
  for (int64_t i = 0; i < w->count(); ++i) norm += std::fabs(w->diff()[i]);
  EXPECT_GT(norm, 0.0);
}

}  // namespace
}  // namespace banyan
