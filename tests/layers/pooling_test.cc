// Tests of the Pooling layer: Caffe's output sizes (CEIL and FLOOR rounding,
// the dropped last window with pad, global pooling), config errors, forward
// against a reference and against hand-computed averages, tie breaking, and
// finite-difference gradients for MAX (distinct inputs) and AVE.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"
#include "tests/layers/layer_cases.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::fill_gaussian;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;
using banyan::testing::make_pool_config;
using banyan::testing::PoolCase;
using Method = PoolingConfig::Method;
using RoundMode = PoolingConfig::RoundMode;

// Pooling from the definition, in double: window (oy, ox) starts at
// oy*stride - pad in padded coordinates; MAX takes the largest in-bounds
// value, AVE divides the in-bounds sum by the window clipped to the padded
// input (Caffe's divisor).
std::vector<double> reference_pool(const Blob& x, const PoolCase& k, const Shape& top_shape) {
  const int64_t planes = x.dim(0) * x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t Ho = top_shape.dim(2), Wo = top_shape.dim(3);
  const int64_t kh = k.global ? H : k.kernel_h, kw = k.global ? W : k.kernel_w;
  std::vector<double> y(static_cast<size_t>(top_shape.count()));
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t oy = 0; oy < Ho; ++oy) {
      for (int64_t ox = 0; ox < Wo; ++ox) {
        const int64_t hs = oy * k.stride_h - k.pad_h, ws = ox * k.stride_w - k.pad_w;
        double best = -std::numeric_limits<double>::infinity(), sum = 0.0;
        for (int64_t iy = hs; iy < hs + kh; ++iy) {
          for (int64_t ix = ws; ix < ws + kw; ++ix) {
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            const double v = x.data()[(p * H + iy) * W + ix];
            best = std::max(best, v);
            sum += v;
          }
        }
        const int64_t rows = std::min(hs + kh, H + k.pad_h) - hs;
        const int64_t cols = std::min(ws + kw, W + k.pad_w) - ws;
        y[(p * Ho + oy) * Wo + ox] = k.method == Method::kMax ? best : sum / (rows * cols);
      }
    }
  }
  return y;
}

// Fills the bottom with a random permutation of well-separated values so the
// argmax of every window is unique and survives a finite-difference step.
void fill_distinct(Blob* b, uint32_t seed) {
  std::vector<int> perm(static_cast<size_t>(b->count()));
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), std::mt19937(seed));
  for (int64_t i = 0; i < b->count(); ++i) b->data()[i] = 0.1f * perm[i] - 0.05f * b->count();
}

TEST(PoolingLayerTest, TopShapesFollowCaffeRounding) {
  struct Case {
    Shape bottom;
    PoolCase pool;
    Shape top;
  };
  const Case cases[] = {
      {Shape{2, 3, 7, 7}, {Method::kMax, 3, 3, 2, 2}, Shape{2, 3, 3, 3}},
      // CEIL keeps a partial last window, FLOOR drops it.
      {Shape{1, 2, 6, 6}, {Method::kMax, 3, 3, 2, 2}, Shape{1, 2, 3, 3}},
      {Shape{1, 2, 6, 6}, {Method::kMax, 3, 3, 2, 2, 0, 0, RoundMode::kFloor}, Shape{1, 2, 2, 2}},
      // AlexNet pool1 and ResNet/GoogLeNet pool1 (published sizes).
      {Shape{1, 96, 55, 55}, {Method::kMax, 3, 3, 2, 2}, Shape{1, 96, 27, 27}},
      {Shape{1, 64, 112, 112}, {Method::kMax, 3, 3, 2, 2}, Shape{1, 64, 56, 56}},
      // pad 1, CEIL: windows would start at rows -1, 2 and 5; the last lies
      // wholly in the padding ((3 - 1) * 3 >= 5 + 1) and is dropped.
      {Shape{1, 1, 5, 5}, {Method::kAve, 3, 3, 3, 3, 1, 1}, Shape{1, 1, 2, 2}},
      {Shape{1, 1, 5, 5}, {Method::kAve, 3, 3, 3, 3, 1, 1, RoundMode::kFloor}, Shape{1, 1, 2, 2}},
      // pad 1, last window starts inside the padded input: kept.
      {Shape{1, 1, 6, 6}, {Method::kMax, 2, 2, 2, 2, 1, 1}, Shape{1, 1, 4, 4}},
      // Non-square kernel, stride and pad.
      {Shape{2, 1, 7, 10}, {Method::kAve, 2, 3, 1, 2, 1, 0}, Shape{2, 1, 8, 5}},
      {Shape{2, 1, 7, 10}, {Method::kAve, 2, 3, 1, 2, 1, 0, RoundMode::kFloor}, Shape{2, 1, 8, 4}},
      // Global pooling.
      {Shape{2, 3, 5, 7},
       {Method::kAve, 0, 0, 1, 1, 0, 0, RoundMode::kCeil, true},
       Shape{2, 3, 1, 1}},
      {Shape{2, 3, 4, 1},
       {Method::kMax, 0, 0, 1, 1, 0, 0, RoundMode::kCeil, true},
       Shape{2, 3, 1, 1}},
  };
  for (const Case& c : cases) {
    auto layer = new_pooling_layer(make_pool_config(c.pool));
    LayerHarness h({c.bottom}, 1);
    ASSERT_TRUE(h.setup(*layer).ok()) << c.bottom.to_string();
    EXPECT_EQ(h.top()[0]->shape(), c.top) << c.bottom.to_string() << " -> " << c.top.to_string();
    EXPECT_TRUE(layer->params().empty());
    EXPECT_EQ(layer->workspace_floats(), 0u);
  }
}

void expect_setup_error(const PoolCase& k, std::vector<Shape> bottoms, int tops,
                        const std::string& fragment) {
  auto layer = new_pooling_layer(make_pool_config(k));
  LayerHarness h(std::move(bottoms), tops);
  Status s = h.setup(*layer);
  ASSERT_FALSE(s.ok()) << fragment;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'pool1'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

TEST(PoolingLayerTest, RejectsBadConfig) {
  const Shape ok{1, 2, 6, 6};
  expect_setup_error({Method::kMax, 3, 3, 1, 1, 3, 0}, {ok}, 1, "pad 3x0");
  expect_setup_error({Method::kAve, 2, 3, 1, 1, 1, 3}, {ok}, 1, "kernel 2x3");
  expect_setup_error({Method::kMax, 9, 2}, {ok}, 1, "kernel 9x2");
  expect_setup_error({Method::kMax, 0, 2}, {ok}, 1, "got 0x2");
  expect_setup_error({Method::kMax, 2, 2, 0, 2}, {ok}, 1, "stride must be positive, got 0x2");
  expect_setup_error({Method::kMax, 2, 2}, {Shape{2, 6, 6}}, 1, "(2, 6, 6)");
  expect_setup_error({Method::kMax, 2, 2}, {ok}, 2, "got 2");
  expect_setup_error({Method::kMax, 0, 0, 1, 1, 1, 1, RoundMode::kCeil, true}, {ok}, 1, "pad 1x1");
  expect_setup_error({Method::kMax, 0, 0, 2, 2, 0, 0, RoundMode::kCeil, true}, {ok}, 1,
                     "stride 2x2");
  expect_setup_error({Method::kMax, 3, 3, 1, 1, 0, 0, RoundMode::kCeil, true}, {ok}, 1, "3x3");
}

// A bottom shape and a pooling, printed readably in test names' output.
struct PoolTestCase {
  Shape bottom;
  PoolCase pool;
};

void PrintTo(const PoolTestCase& c, std::ostream* os) {
  const PoolCase& k = c.pool;
  *os << "bottom " << c.bottom.to_string() << (k.method == Method::kMax ? " MAX" : " AVE");
  if (k.global) {
    *os << " global";
    return;
  }
  *os << " kernel " << k.kernel_h << "x" << k.kernel_w << " stride " << k.stride_h << "x"
      << k.stride_w << " pad " << k.pad_h << "x" << k.pad_w
      << (k.round == RoundMode::kCeil ? " CEIL" : " FLOOR");
}

class PoolingForwardTest : public ::testing::TestWithParam<PoolTestCase> {};

TEST_P(PoolingForwardTest, MatchesReference) {
  const Shape& shape = GetParam().bottom;
  const PoolCase& k = GetParam().pool;
  auto layer = new_pooling_layer(make_pool_config(k));
  LayerHarness h({shape}, 1, 21);
  ASSERT_TRUE(h.setup(*layer).ok());
  Blob* top = h.top()[0];
  std::fill(top->data(), top->data() + top->count(), std::numeric_limits<float>::quiet_NaN());
  layer->forward(h.bottom(), h.top(), h.ctx());
  std::vector<double> ref = reference_pool(*h.bottom()[0], k, top->shape());
  for (int64_t i = 0; i < top->count(); ++i) {
    ASSERT_NEAR(top->data()[i], ref[i], 1e-5 * std::max(1.0, std::fabs(ref[i]))) << "element " << i;
  }
}

const PoolTestCase kPoolConfigs[] = {
    {Shape{2, 3, 7, 7}, {Method::kMax, 3, 3, 2, 2}},
    {Shape{2, 3, 7, 7}, {Method::kAve, 3, 3, 2, 2}},
    {Shape{1, 2, 6, 8}, {Method::kMax, 3, 2, 2, 3, 1, 1}},
    {Shape{1, 2, 6, 8}, {Method::kAve, 3, 2, 2, 3, 1, 1}},
    {Shape{1, 2, 9, 5}, {Method::kAve, 4, 3, 3, 2, 2, 1, RoundMode::kFloor}},
    {Shape{1, 2, 5, 5}, {Method::kAve, 3, 3, 3, 3, 1, 1}},
    {Shape{2, 2, 5, 6}, {Method::kMax, 0, 0, 1, 1, 0, 0, RoundMode::kCeil, true}},
    {Shape{2, 2, 5, 6}, {Method::kAve, 0, 0, 1, 1, 0, 0, RoundMode::kCeil, true}},
};

INSTANTIATE_TEST_SUITE_P(Configs, PoolingForwardTest, ::testing::ValuesIn(kPoolConfigs));

TEST(PoolingLayerTest, AverageDivisorCountsPaddingButNotOverhang) {
  // 3x3 input 1..9, kernel 2, stride 2, pad 1: windows start at -1 and 1 and
  // every window spans 2x2 of the padded input, so the divisor is always 4.
  {
    auto layer = new_pooling_layer(make_pool_config({Method::kAve, 2, 2, 2, 2, 1, 1}));
    LayerHarness h({Shape{1, 1, 3, 3}}, 1);
    ASSERT_TRUE(h.setup(*layer).ok());
    ASSERT_EQ(h.top()[0]->shape(), (Shape{1, 1, 2, 2}));
    for (int i = 0; i < 9; ++i) h.bottom()[0]->data()[i] = static_cast<float>(i + 1);
    layer->forward(h.bottom(), h.top(), h.ctx());
    const float expected[] = {1.0f / 4, (2 + 3) / 4.0f, (4 + 7) / 4.0f, (5 + 6 + 8 + 9) / 4.0f};
    for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(h.top()[0]->data()[i], expected[i]) << i;
  }
  // 4x4 input 1..16, kernel 3, stride 2, no pad, CEIL: the second window
  // hangs one row/column past the input and is divided by 2, not 3.
  {
    auto layer = new_pooling_layer(make_pool_config({Method::kAve, 3, 3, 2, 2}));
    LayerHarness h({Shape{1, 1, 4, 4}}, 1);
    ASSERT_TRUE(h.setup(*layer).ok());
    ASSERT_EQ(h.top()[0]->shape(), (Shape{1, 1, 2, 2}));
    for (int i = 0; i < 16; ++i) h.bottom()[0]->data()[i] = static_cast<float>(i + 1);
    layer->forward(h.bottom(), h.top(), h.ctx());
    const float expected[] = {54.0f / 9, 45.0f / 6, 72.0f / 6, 54.0f / 4};
    for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(h.top()[0]->data()[i], expected[i]) << i;
  }
}

TEST(PoolingLayerTest, MaxTiesGoToTheFirstPosition) {
  auto layer = new_pooling_layer(make_pool_config({Method::kMax, 2, 2, 2, 2}));
  LayerHarness h({Shape{1, 1, 2, 4}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  const float x[] = {1.5f, 5.0f, -2.0f, -3.0f,  //
                     5.0f, 5.0f, -3.0f, -2.0f};
  std::copy(x, x + 8, h.bottom()[0]->data());
  layer->forward(h.bottom(), h.top(), h.ctx());
  EXPECT_EQ(h.top()[0]->data()[0], 5.0f);
  EXPECT_EQ(h.top()[0]->data()[1], -2.0f);
  h.top()[0]->diff()[0] = 0.5f;
  h.top()[0]->diff()[1] = -1.25f;
  Blob* b = h.bottom()[0];
  std::fill(b->diff(), b->diff() + b->count(), 9.0f);
  layer->backward(h.top(), {true}, h.bottom(), h.ctx());
  const float expected[] = {0.0f, 0.5f, -1.25f, 0.0f,  //
                            0.0f, 0.0f, 0.0f,   0.0f};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(b->diff()[i], expected[i]) << i;
}

TEST(PoolingLayerTest, OverlappingMaxWindowsSumTheirGradients) {
  // Kernel 3, stride 1 over a 1x5 row whose maximum sits in the middle: all
  // three windows pick it, so its gradient is the sum of the three.
  auto layer = new_pooling_layer(make_pool_config({Method::kMax, 1, 3, 1, 1}));
  LayerHarness h({Shape{1, 1, 1, 5}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  const float x[] = {0.1f, 0.4f, 2.0f, 0.3f, 0.2f};
  std::copy(x, x + 5, h.bottom()[0]->data());
  layer->forward(h.bottom(), h.top(), h.ctx());
  const float dy[] = {1.0f, 2.0f, 4.0f};
  std::copy(dy, dy + 3, h.top()[0]->diff());
  layer->backward(h.top(), {true}, h.bottom(), h.ctx());
  const float expected[] = {0.0f, 0.0f, 7.0f, 0.0f, 0.0f};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(h.bottom()[0]->diff()[i], expected[i]) << i;
}

TEST(PoolingLayerTest, WindowsPastTheInputGiveZero) {
  // Kernel 1, stride 3, no pad over 5 columns: CEIL gives windows at columns
  // 0, 3 and 6 (Caffe's size); the last covers no input.
  for (Method m : {Method::kMax, Method::kAve}) {
    auto layer = new_pooling_layer(make_pool_config({m, 1, 1, 1, 3}));
    LayerHarness h({Shape{1, 1, 1, 5}}, 1);
    ASSERT_TRUE(h.setup(*layer).ok());
    ASSERT_EQ(h.top()[0]->shape(), (Shape{1, 1, 1, 3}));
    const float x[] = {-1.0f, 2.0f, 3.0f, -4.0f, 5.0f};
    std::copy(x, x + 5, h.bottom()[0]->data());
    layer->forward(h.bottom(), h.top(), h.ctx());
    EXPECT_EQ(h.top()[0]->data()[0], -1.0f);
    EXPECT_EQ(h.top()[0]->data()[1], -4.0f);
    EXPECT_EQ(h.top()[0]->data()[2], 0.0f);
    std::fill(h.top()[0]->diff(), h.top()[0]->diff() + 3, 1.0f);
    layer->backward(h.top(), {true}, h.bottom(), h.ctx());
    const float expected[] = {1.0f, 0.0f, 0.0f, 1.0f, 0.0f};
    for (int i = 0; i < 5; ++i) EXPECT_EQ(h.bottom()[0]->diff()[i], expected[i]) << i;
  }
}

class PoolingGradientTest : public ::testing::TestWithParam<PoolTestCase> {};

TEST_P(PoolingGradientTest, MatchesFiniteDifferences) {
  const Shape& shape = GetParam().bottom;
  const PoolCase& k = GetParam().pool;
  auto layer = new_pooling_layer(make_pool_config(k));
  LayerHarness h({shape}, 1, 9);
  ASSERT_TRUE(h.setup(*layer).ok());
  if (k.method == Method::kMax) fill_distinct(h.bottom()[0], 17);
  GradientCheckOptions o;
  o.step = 1e-2f;
  o.threshold = 1e-2f;
  check_gradients(*layer, h, o);
}

TEST_P(PoolingGradientTest, BottomGradientIsOverwritten) {
  const Shape& shape = GetParam().bottom;
  const PoolCase& k = GetParam().pool;
  auto layer = new_pooling_layer(make_pool_config(k));
  LayerHarness h({shape}, 1, 13);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

INSTANTIATE_TEST_SUITE_P(Configs, PoolingGradientTest, ::testing::ValuesIn(kPoolConfigs));

TEST(PoolingLayerTest, NoBottomGradientWhenNotPropagating) {
  auto layer = new_pooling_layer(make_pool_config({Method::kAve, 2, 2, 1, 1}));
  LayerHarness h({Shape{1, 2, 3, 3}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  layer->forward(h.bottom(), h.top(), h.ctx());
  fill_gaussian(h.top()[0]->diff(), h.top()[0]->count(), 3);
  Blob* b = h.bottom()[0];
  std::fill(b->diff(), b->diff() + b->count(), 7.0f);
  layer->backward(h.top(), {false}, h.bottom(), h.ctx());
  for (int64_t i = 0; i < b->count(); ++i) ASSERT_EQ(b->diff()[i], 7.0f) << i;
}

}  // namespace
}  // namespace banyan
