// Tests of the BatchNorm layer: parameter layout, config errors, TRAIN
// forward against a double reference, the running-statistics update over two
// passes, TEST / global-statistics forward, the zero factor, gradients in
// both modes (the update during forward does not disturb them), accumulation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::fill_gaussian;
using banyan::testing::fill_uniform;
using banyan::testing::LayerHarness;

LayerConfig make_batch_norm_config(std::optional<bool> global = std::nullopt, float maf = 0.999f,
                                   float eps = 1e-5f) {
  LayerConfig c;
  c.name = "bn1";
  c.type = "BatchNorm";
  c.batch_norm.use_global_stats = global;
  c.batch_norm.moving_average_fraction = maf;
  c.batch_norm.eps = eps;
  return c;
}

struct ChannelStats {
  std::vector<double> mean, var;  // var biased (divided by m)
  int64_t m = 0;
};

// Per-channel statistics of x (N, C, ...), channels on axis 1.
ChannelStats reference(const float* x, const Shape& s) {
  const int64_t n = s.dim(0), c = s.num_axes() > 1 ? s.dim(1) : 1;
  const int64_t spatial = s.count() / (n * c);
  ChannelStats r;
  r.m = n * spatial;
  r.mean.assign(c, 0.0);
  r.var.assign(c, 0.0);
  for (int64_t i = 0; i < s.count(); ++i) r.mean[(i / spatial) % c] += x[i];
  for (double& v : r.mean) v /= static_cast<double>(r.m);
  for (int64_t i = 0; i < s.count(); ++i) {
    const int64_t ch = (i / spatial) % c;
    r.var[ch] += (x[i] - r.mean[ch]) * (x[i] - r.mean[ch]);
  }
  for (double& v : r.var) v /= static_cast<double>(r.m);
  return r;
}

// Checks y == (x - mean[c]) / sqrt(var[c] + eps) elementwise.
void expect_normalized(const Blob& x, const Blob& y, const std::vector<double>& mean,
                       const std::vector<double>& var, double eps) {
  const int64_t c = static_cast<int64_t>(mean.size());
  const int64_t spatial = x.count() / (x.dim(0) * c);
  for (int64_t i = 0; i < x.count(); ++i) {
    const int64_t ch = (i / spatial) % c;
    const double expect = (x.data()[i] - mean[ch]) / std::sqrt(var[ch] + eps);
    ASSERT_NEAR(y.data()[i], expect, 2e-5 * std::max(1.0, std::fabs(expect))) << "element " << i;
  }
}

TEST(BatchNormLayerTest, ShapesAndParameterLayout) {
  struct Case {
    Shape bottom;
    int64_t channels;
  };
  for (const Case& c : {Case{Shape{2, 3, 4, 5}, 3}, Case{Shape{5, 7}, 7}, Case{Shape{6}, 1},
                        Case{Shape{2, 3, 1, 2, 2}, 3}}) {
    auto layer = new_batch_norm_layer(make_batch_norm_config());
    LayerHarness h({c.bottom}, 1);
    ASSERT_TRUE(h.setup(*layer).ok()) << c.bottom.to_string();
    EXPECT_EQ(h.top()[0]->shape(), c.bottom);
    ASSERT_EQ(layer->params().size(), 3u);
    EXPECT_EQ(layer->params()[0].blob->shape(), Shape{c.channels});
    EXPECT_EQ(layer->params()[1].blob->shape(), Shape{c.channels});
    EXPECT_EQ(layer->params()[2].blob->shape(), Shape{1});
    for (const LayerParam& p : layer->params()) {
      EXPECT_FALSE(p.learnable);
      EXPECT_EQ(p.lr_mult, 0.0f);
      EXPECT_EQ(p.filler.type, "constant");
      EXPECT_EQ(p.filler.value, 0.0f);
    }
  }
}

TEST(BatchNormLayerTest, RejectsBadConfig) {
  struct Case {
    LayerConfig config;
    std::vector<Shape> shapes;
    std::string expect;
  };
  const Case cases[] = {
      {make_batch_norm_config(std::nullopt, 0.9f, -1.0f), {Shape{2, 3}}, "eps"},
      {make_batch_norm_config(std::nullopt, 1.5f), {Shape{2, 3}}, "moving_average_fraction"},
      {make_batch_norm_config(), {Shape{}}, "shape ()"},
      {make_batch_norm_config(), {Shape{2, 3}, Shape{2, 3}}, "got 2"},
  };
  for (const Case& c : cases) {
    auto layer = new_batch_norm_layer(c.config);
    LayerHarness h(c.shapes, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok()) << c.expect;
    EXPECT_NE(s.message().find("'bn1'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
}

TEST(BatchNormLayerTest, TrainForwardUsesBatchStatistics) {
  for (const Shape& shape : {Shape{3, 2, 2, 3}, Shape{5, 4}, Shape{2, 3, 1, 2, 2}, Shape{7}}) {
    auto layer = new_batch_norm_layer(make_batch_norm_config(std::nullopt, 0.999f, 1e-3f));
    LayerHarness h({shape}, 1, 2);
    ASSERT_TRUE(h.setup(*layer).ok());
    fill_gaussian(h.bottom()[0]->data(), shape.count(), 5, 1.5f, 2.0f);
    layer->forward(h.bottom(), h.top(), h.ctx());
    ChannelStats r = reference(h.bottom()[0]->data(), shape);
    expect_normalized(*h.bottom()[0], *h.top()[0], r.mean, r.var, 1e-3);
  }
}

TEST(BatchNormLayerTest, RunningStatisticsFollowCaffesUpdate) {
  const Shape shape{4, 3, 2, 2};
  const float maf = 0.9f;
  auto layer = new_batch_norm_layer(make_batch_norm_config(std::nullopt, maf));
  LayerHarness h({shape}, 1, 3);
  ASSERT_TRUE(h.setup(*layer).ok());
  auto& p = layer->params();
  // Start from arbitrary stored statistics (the harness filled them).
  std::vector<double> mean(p[0].blob->data(), p[0].blob->data() + 3);
  std::vector<double> var(p[1].blob->data(), p[1].blob->data() + 3);
  double s = p[2].blob->data()[0];
  for (uint64_t pass = 0; pass < 2; ++pass) {
    fill_gaussian(h.bottom()[0]->data(), shape.count(), 10 + pass, 0.5f * pass, 1.0f + pass);
    ChannelStats r = reference(h.bottom()[0]->data(), shape);
    layer->forward(h.bottom(), h.top(), h.ctx());
    const double correction = static_cast<double>(r.m) / (r.m - 1);
    s = s * maf + 1.0;
    for (int c = 0; c < 3; ++c) {
      mean[c] = mean[c] * maf + r.mean[c];
      var[c] = var[c] * maf + correction * r.var[c];
    }
  }
  EXPECT_NEAR(p[2].blob->data()[0], s, 1e-5);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(p[0].blob->data()[c], mean[c], 1e-5) << c;
    EXPECT_NEAR(p[1].blob->data()[c], var[c], 1e-5 * std::max(1.0, std::fabs(var[c]))) << c;
  }
}

// Sets the stored statistics to known values.
void set_stored(Layer& layer, const std::vector<float>& mean, const std::vector<float>& var,
                float factor) {
  std::copy(mean.begin(), mean.end(), layer.params()[0].blob->data());
  std::copy(var.begin(), var.end(), layer.params()[1].blob->data());
  layer.params()[2].blob->data()[0] = factor;
}

TEST(BatchNormLayerTest, TestPhaseUsesStoredStatistics) {
  const Shape shape{3, 2, 4};
  const std::vector<float> mean{1.0f, -2.0f}, var{4.0f, 0.5f};
  for (float factor : {2.5f, 0.0f}) {
    auto layer = new_batch_norm_layer(make_batch_norm_config());
    LayerHarness h({shape}, 1, 4);
    ASSERT_TRUE(h.setup(*layer).ok());
    set_stored(*layer, mean, var, factor);
    h.ctx().step().phase = Phase::kTest;
    layer->forward(h.bottom(), h.top(), h.ctx());
    const double scale = factor == 0.0f ? 1.0 : 1.0 / factor;  // 0 reads as 1
    expect_normalized(*h.bottom()[0], *h.top()[0], {mean[0] * scale, mean[1] * scale},
                      {var[0] * scale, var[1] * scale}, 1e-5);
    EXPECT_EQ(layer->params()[0].blob->data()[1], mean[1]);  // nothing updated
    EXPECT_EQ(layer->params()[1].blob->data()[0], var[0]);
    EXPECT_EQ(layer->params()[2].blob->data()[0], factor);
  }
}

TEST(BatchNormLayerTest, ExplicitUseGlobalStatsOverridesPhase) {
  const Shape shape{4, 2, 3};
  const std::vector<float> mean{0.5f, -1.0f}, var{2.0f, 3.0f};
  {
    // TRAIN with global statistics: stored values, no update.
    auto layer = new_batch_norm_layer(make_batch_norm_config(true));
    LayerHarness h({shape}, 1, 6);
    ASSERT_TRUE(h.setup(*layer).ok());
    set_stored(*layer, mean, var, 1.0f);
    layer->forward(h.bottom(), h.top(), h.ctx());
    expect_normalized(*h.bottom()[0], *h.top()[0], {0.5, -1.0}, {2.0, 3.0}, 1e-5);
    EXPECT_EQ(layer->params()[2].blob->data()[0], 1.0f);
  }
  {
    // TEST with batch statistics.
    auto layer = new_batch_norm_layer(make_batch_norm_config(false));
    LayerHarness h({shape}, 1, 7);
    ASSERT_TRUE(h.setup(*layer).ok());
    set_stored(*layer, mean, var, 1.0f);
    h.ctx().step().phase = Phase::kTest;
    layer->forward(h.bottom(), h.top(), h.ctx());
    ChannelStats r = reference(h.bottom()[0]->data(), shape);
    expect_normalized(*h.bottom()[0], *h.top()[0], r.mean, r.var, 1e-5);
  }
}

TEST(BatchNormLayerTest, GradientsMatchFiniteDifferences) {
  // Batch statistics: forward updates the stored statistics each time, but
  // the output depends only on the batch, so finite differences hold.
  for (const Shape& shape : {Shape{3, 2, 2, 3}, Shape{4, 3}}) {
    auto layer = new_batch_norm_layer(make_batch_norm_config(std::nullopt, 0.9f, 1e-3f));
    LayerHarness h({shape}, 1, 8);
    ASSERT_TRUE(h.setup(*layer).ok());
    check_gradients(*layer, h);
  }
  // Global statistics.
  auto layer = new_batch_norm_layer(make_batch_norm_config(true));
  LayerHarness h({Shape{2, 3, 2, 2}}, 1, 9);
  ASSERT_TRUE(h.setup(*layer).ok());
  fill_uniform(layer->params()[1].blob->data(), 3, 2, 0.5f, 2.0f);
  layer->params()[2].blob->data()[0] = 1.5f;
  check_gradients(*layer, h);
}

TEST(BatchNormLayerTest, BottomGradientIsOverwritten) {
  auto layer = new_batch_norm_layer(make_batch_norm_config());
  LayerHarness h({Shape{3, 2, 4}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

}  // namespace
}  // namespace banyan
