// Tests of LRN with norm_region WITHIN_CHANNEL: shape and config errors,
// forward against a double reference written the way Caffe composes it (x^2,
// AVE pooling with pad (size-1)/2 and Caffe's pool-size divisor, then
// (1 + alpha * pooled)^-beta times x, k unused), finite-difference gradients
// and overwrite-on-backward.
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

LayerConfig make_within_config(int local_size, float alpha, float beta, float k = 1.0f) {
  LayerConfig c;
  c.name = "norm1";
  c.type = "LRN";
  c.lrn.local_size = local_size;
  c.lrn.alpha = alpha;
  c.lrn.beta = beta;
  c.lrn.k = k;
  c.lrn.norm_region = LrnConfig::NormRegion::kWithinChannel;
  return c;
}

// Caffe's AVE pooling of x^2 (kernel size, pad (size-1)/2, stride 1, CEIL
// rounding) at (h, w) of one plane: the divisor counts the window up to the
// padded border, computed before the window is clipped to the image.
double caffe_pooled_square(const float* plane, int64_t H, int64_t W, int size, int64_t h,
                           int64_t w) {
  const int64_t pad = (size - 1) / 2;
  int64_t hstart = h - pad, wstart = w - pad;
  int64_t hend = std::min(hstart + size, H + pad), wend = std::min(wstart + size, W + pad);
  const double pool_size = static_cast<double>((hend - hstart) * (wend - wstart));
  hstart = std::max<int64_t>(hstart, 0);
  wstart = std::max<int64_t>(wstart, 0);
  hend = std::min(hend, H);
  wend = std::min(wend, W);
  double sum = 0.0;
  for (int64_t i = hstart; i < hend; ++i) {
    for (int64_t j = wstart; j < wend; ++j) sum += double(plane[i * W + j]) * plane[i * W + j];
  }
  return sum / pool_size;
}

std::vector<double> reference_within(const Blob& x, const LrnConfig& c) {
  const int64_t planes = x.dim(0) * x.dim(1), H = x.dim(2), W = x.dim(3);
  // Caffe's pooled output has the input's size for this geometry.
  const int64_t pad = (c.local_size - 1) / 2;
  EXPECT_EQ((H + 2 * pad - c.local_size) + 1, H);
  std::vector<double> y(static_cast<size_t>(x.count()));
  for (int64_t p = 0; p < planes; ++p) {
    const float* plane = x.data() + p * H * W;
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t w = 0; w < W; ++w) {
        const double pooled = caffe_pooled_square(plane, H, W, c.local_size, h, w);
        // Caffe's Power layer: (shift + scale * pooled)^power with shift 1.
        const double denominator = std::pow(1.0 + c.alpha * pooled, -static_cast<double>(c.beta));
        y[p * H * W + h * W + w] = plane[h * W + w] * denominator;
      }
    }
  }
  return y;
}

TEST(LrnWithinChannelTest, TopHasTheBottomShape) {
  for (const Shape& s : {Shape{2, 3, 5, 4}, Shape{1, 1, 1, 1}, Shape{2, 32, 16, 16}}) {
    auto layer = new_lrn_layer(make_within_config(3, 5e-5f, 0.75f));
    LayerHarness h({s}, 1);
    ASSERT_TRUE(h.setup(*layer).ok()) << s.to_string();
    EXPECT_EQ(h.top()[0]->shape(), s);
    EXPECT_TRUE(layer->params().empty());
  }
}

void expect_setup_error(const LayerConfig& config, const Shape& bottom,
                        const std::string& fragment) {
  auto layer = new_lrn_layer(config);
  LayerHarness h({bottom}, 1);
  Status s = h.setup(*layer);
  ASSERT_FALSE(s.ok()) << fragment;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'norm1'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

TEST(LrnWithinChannelTest, RejectsBadConfig) {
  const Shape ok{2, 3, 4, 4};
  expect_setup_error(make_within_config(4, 1.0f, 0.75f), ok, "got 4");
  expect_setup_error(make_within_config(0, 1.0f, 0.75f), ok, "got 0");
  expect_setup_error(make_within_config(3, -0.5f, 0.75f), ok, "got -0.5");
  expect_setup_error(make_within_config(3, 1.0f, 0.75f), Shape{2, 3, 4}, "(2, 3, 4)");
}

struct WithinCase {
  int local_size;
  float alpha, beta;
  Shape bottom;
};

void PrintTo(const WithinCase& p, std::ostream* os) {
  *os << "local_size " << p.local_size << " alpha " << p.alpha << " beta " << p.beta << " bottom "
      << p.bottom.to_string();
}

const WithinCase kWithinCases[] = {
    {3, 5e-5f, 0.75f, Shape{2, 3, 6, 5}},  // Caffe's cifar10_full settings
    {3, 2.0f, 0.75f, Shape{2, 2, 5, 4}},   // strong normalisation
    {5, 1.5f, 0.6f, Shape{1, 2, 3, 7}},    // window taller than the image
    {1, 0.9f, 1.2f, Shape{2, 2, 3, 2}},    // window of one pixel
    {7, 3.0f, 0.5f, Shape{1, 2, 9, 8}},
    {5, 0.7f, 1.0f, Shape{1, 1, 1, 1}},  // one pixel, window all padding
};

// Inputs large enough that even alpha 5e-5 changes the result measurably.
void fill_input(Blob* x) { fill_gaussian(x->data(), x->count(), 8, 0.0f, 40.0f); }

class LrnWithinForwardTest : public ::testing::TestWithParam<WithinCase> {};

TEST_P(LrnWithinForwardTest, MatchesCaffesComposition) {
  const WithinCase& p = GetParam();
  // k is ignored: 0 would be an error across channels, here it changes nothing.
  for (float k : {1.0f, 0.0f, 7.0f}) {
    const LayerConfig config = make_within_config(p.local_size, p.alpha, p.beta, k);
    auto layer = new_lrn_layer(config);
    LayerHarness h({p.bottom}, 1, 31);
    ASSERT_TRUE(h.setup(*layer).ok());
    fill_input(h.bottom()[0]);
    Blob* top = h.top()[0];
    std::fill(top->data(), top->data() + top->count(), std::numeric_limits<float>::quiet_NaN());
    layer->forward(h.bottom(), h.top(), h.ctx());
    const std::vector<double> ref = reference_within(*h.bottom()[0], config.lrn);
    int changed = 0;
    for (int64_t i = 0; i < top->count(); ++i) {
      ASSERT_NEAR(top->data()[i], ref[i], 1e-5 * std::max(1.0, std::fabs(ref[i])))
          << "element " << i << " k " << k;
      changed += std::fabs(ref[i] - h.bottom()[0]->data()[i]) > 1e-3 ? 1 : 0;
    }
    EXPECT_GT(changed, 0) << "the normalisation had no effect: nothing was checked";
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, LrnWithinForwardTest, ::testing::ValuesIn(kWithinCases));

// Across channels and within a channel are different normalisations.
TEST(LrnWithinChannelTest, DiffersFromAcrossChannels) {
  LayerConfig within = make_within_config(3, 2.0f, 0.75f);
  LayerConfig across = within;
  across.lrn.norm_region = LrnConfig::NormRegion::kAcrossChannels;
  auto a = new_lrn_layer(within), b = new_lrn_layer(across);
  LayerHarness ha({Shape{1, 3, 4, 4}}, 1, 5), hb({Shape{1, 3, 4, 4}}, 1, 5);
  ASSERT_TRUE(ha.setup(*a).ok());
  ASSERT_TRUE(hb.setup(*b).ok());
  a->forward(ha.bottom(), ha.top(), ha.ctx());
  b->forward(hb.bottom(), hb.top(), hb.ctx());
  double diff = 0.0;
  for (int64_t i = 0; i < ha.top()[0]->count(); ++i) {
    diff += std::fabs(ha.top()[0]->data()[i] - hb.top()[0]->data()[i]);
  }
  EXPECT_GT(diff, 1e-2);
}

class LrnWithinGradientTest : public ::testing::TestWithParam<WithinCase> {};

TEST_P(LrnWithinGradientTest, MatchesFiniteDifferences) {
  const WithinCase& p = GetParam();
  // Strong enough that the normalisation's own gradient term matters.
  auto layer = new_lrn_layer(make_within_config(p.local_size, std::max(p.alpha, 0.5f), p.beta));
  LayerHarness h({p.bottom}, 1, 41);
  ASSERT_TRUE(h.setup(*layer).ok());
  GradientCheckOptions o;
  o.step = 1e-2f;
  o.threshold = 1e-2f;
  check_gradients(*layer, h, o);
}

TEST_P(LrnWithinGradientTest, BottomGradientIsOverwritten) {
  const WithinCase& p = GetParam();
  auto layer = new_lrn_layer(make_within_config(p.local_size, p.alpha, p.beta));
  LayerHarness h({p.bottom}, 1, 43);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

INSTANTIATE_TEST_SUITE_P(Configs, LrnWithinGradientTest, ::testing::ValuesIn(kWithinCases));

TEST(LrnWithinChannelTest, NoBottomGradientWhenNotPropagating) {
  auto layer = new_lrn_layer(make_within_config(3, 1.0f, 0.75f));
  LayerHarness h({Shape{1, 2, 3, 3}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  layer->forward(h.bottom(), h.top(), h.ctx());
  fill_gaussian(h.top()[0]->diff(), h.top()[0]->count(), 5);
  Blob* b = h.bottom()[0];
  std::fill(b->diff(), b->diff() + b->count(), 7.0f);
  layer->backward(h.top(), {false}, h.bottom(), h.ctx());
  for (int64_t i = 0; i < b->count(); ++i) ASSERT_EQ(b->diff()[i], 7.0f) << i;
}

}  // namespace
}  // namespace banyan
