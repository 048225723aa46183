// Tests of the LRN layer (across channels): shape, config errors, forward
// against a double reference of Caffe's formula (alpha divided by
// local_size, window clipped at the channel borders), finite-difference
// gradients and overwrite-on-backward.
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

LayerConfig make_lrn_config(int local_size, float alpha, float beta, float k) {
  LayerConfig c;
  c.name = "norm1";
  c.type = "LRN";
  c.lrn.local_size = local_size;
  c.lrn.alpha = alpha;
  c.lrn.beta = beta;
  c.lrn.k = k;
  return c;
}

std::vector<double> reference_lrn(const Blob& x, const LrnConfig& c) {
  const int64_t N = x.dim(0), C = x.dim(1), P = x.dim(2) * x.dim(3);
  std::vector<double> y(static_cast<size_t>(x.count()));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t ch = 0; ch < C; ++ch) {
      for (int64_t i = 0; i < P; ++i) {
        double sum = 0.0;
        for (int64_t j = ch - c.local_size / 2; j <= ch + c.local_size / 2; ++j) {
          if (j < 0 || j >= C) continue;
          const double v = x.data()[(n * C + j) * P + i];
          sum += v * v;
        }
        const double scale = c.k + c.alpha / c.local_size * sum;
        y[(n * C + ch) * P + i] = x.data()[(n * C + ch) * P + i] * std::pow(scale, -c.beta);
      }
    }
  }
  return y;
}

TEST(LrnLayerTest, TopHasTheBottomShape) {
  for (const Shape& s : {Shape{2, 7, 3, 5}, Shape{1, 1, 1, 1}, Shape{3, 96, 5, 5}}) {
    auto layer = new_lrn_layer(make_lrn_config(5, 1e-4f, 0.75f, 1.0f));
    LayerHarness h({s}, 1);
    ASSERT_TRUE(h.setup(*layer).ok()) << s.to_string();
    EXPECT_EQ(h.top()[0]->shape(), s);
    EXPECT_TRUE(layer->params().empty());
  }
}

void expect_setup_error(const LayerConfig& config, std::vector<Shape> bottoms, int tops,
                        const std::string& fragment) {
  auto layer = new_lrn_layer(config);
  LayerHarness h(std::move(bottoms), tops);
  Status s = h.setup(*layer);
  ASSERT_FALSE(s.ok()) << fragment;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'norm1'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

TEST(LrnLayerTest, RejectsBadConfig) {
  const Shape ok{2, 4, 3, 3};
  expect_setup_error(make_lrn_config(4, 1.0f, 0.75f, 1.0f), {ok}, 1, "got 4");
  expect_setup_error(make_lrn_config(0, 1.0f, 0.75f, 1.0f), {ok}, 1, "got 0");
  expect_setup_error(make_lrn_config(-3, 1.0f, 0.75f, 1.0f), {ok}, 1, "got -3");
  expect_setup_error(make_lrn_config(3, 1.0f, 0.75f, 0.0f), {ok}, 1, "k 0");
  expect_setup_error(make_lrn_config(3, -1.0f, 0.75f, 1.0f), {ok}, 1, "alpha -1");
  expect_setup_error(make_lrn_config(3, 1.0f, 0.75f, 1.0f), {Shape{2, 4, 9}}, 1, "(2, 4, 9)");
  expect_setup_error(make_lrn_config(3, 1.0f, 0.75f, 1.0f), {ok, ok}, 1, "got 2");
}

struct LrnParams {
  int local_size;
  float alpha, beta, k;
  Shape bottom;
};

void PrintTo(const LrnParams& p, std::ostream* os) {
  *os << "local_size " << p.local_size << " alpha " << p.alpha << " beta " << p.beta << " k " << p.k
      << " bottom " << p.bottom.to_string();
}

const LrnParams kLrnConfigs[] = {
    {5, 1e-4f, 0.75f, 1.0f, Shape{2, 7, 3, 4}},  // AlexNet's settings
    {3, 2.0f, 0.75f, 1.0f, Shape{2, 5, 2, 3}},   // strong normalisation
    {5, 1.5f, 0.6f, 2.0f, Shape{1, 3, 4, 3}},    // window wider than C
    {1, 0.9f, 1.2f, 0.5f, Shape{2, 4, 3, 2}},    // window of one channel
    {7, 3.0f, 0.75f, 1.0f, Shape{1, 9, 2, 2}},
};

class LrnForwardTest : public ::testing::TestWithParam<LrnParams> {};

TEST_P(LrnForwardTest, MatchesReference) {
  const auto& [size, alpha, beta, k, shape] = GetParam();
  LayerConfig config = make_lrn_config(size, alpha, beta, k);
  auto layer = new_lrn_layer(config);
  LayerHarness h({shape}, 1, 31);
  ASSERT_TRUE(h.setup(*layer).ok());
  fill_gaussian(h.bottom()[0]->data(), h.bottom()[0]->count(), 8, 0.0f, 2.0f);
  Blob* top = h.top()[0];
  std::fill(top->data(), top->data() + top->count(), std::numeric_limits<float>::quiet_NaN());
  layer->forward(h.bottom(), h.top(), h.ctx());
  std::vector<double> ref = reference_lrn(*h.bottom()[0], config.lrn);
  int changed = 0;
  for (int64_t i = 0; i < top->count(); ++i) {
    ASSERT_NEAR(top->data()[i], ref[i], 1e-5 * std::max(1.0, std::fabs(ref[i]))) << "element " << i;
    changed += std::fabs(ref[i] - h.bottom()[0]->data()[i]) > 1e-6 ? 1 : 0;
  }
  EXPECT_GT(changed, 0) << "the normalisation had no effect: nothing was checked";
}

INSTANTIATE_TEST_SUITE_P(Configs, LrnForwardTest, ::testing::ValuesIn(kLrnConfigs));

class LrnGradientTest : public ::testing::TestWithParam<LrnParams> {};

TEST_P(LrnGradientTest, MatchesFiniteDifferences) {
  const auto& [size, alpha, beta, k, shape] = GetParam();
  auto layer = new_lrn_layer(make_lrn_config(size, alpha, beta, k));
  LayerHarness h({shape}, 1, 41);
  ASSERT_TRUE(h.setup(*layer).ok());
  GradientCheckOptions o;
  o.step = 1e-2f;
  o.threshold = 1e-2f;
  check_gradients(*layer, h, o);
}

TEST_P(LrnGradientTest, BottomGradientIsOverwritten) {
  const auto& [size, alpha, beta, k, shape] = GetParam();
  auto layer = new_lrn_layer(make_lrn_config(size, alpha, beta, k));
  LayerHarness h({shape}, 1, 43);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

INSTANTIATE_TEST_SUITE_P(Configs, LrnGradientTest, ::testing::ValuesIn(kLrnConfigs));

TEST(LrnLayerTest, NoBottomGradientWhenNotPropagating) {
  auto layer = new_lrn_layer(make_lrn_config(3, 1.0f, 0.75f, 1.0f));
  LayerHarness h({Shape{1, 4, 2, 2}}, 1);
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
