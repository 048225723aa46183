// Tests of the SPP layer: top shapes (Caffe's (N, C, 1, 1) for one level,
// else (N, C * sum 4^l)), config errors, forward against a reference written
// from Caffe's definition (per level: kernel ceil(H / bins), pad
// (kernel * bins - H + 1) / 2, stride = kernel, Caffe's pooled size and AVE
// divisor; levels flattened and concatenated), both CPU backends,
// finite-difference gradients and overwrite-on-backward.
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
using Method = PoolingConfig::Method;

LayerConfig make_spp_config(int pyramid_height, Method pool) {
  LayerConfig c;
  c.name = "spp";
  c.type = "SPP";
  c.spp.pyramid_height = pyramid_height;
  c.spp.pool = pool;
  return c;
}

// Caffe's pooled extent along one axis: CEIL rounding, then the last window
// dropped when it starts in the padding.
int64_t caffe_pooled(int64_t in, int64_t kernel, int64_t pad, int64_t stride) {
  int64_t pooled = (in + 2 * pad - kernel + stride - 1) / stride + 1;
  if (pad > 0 && (pooled - 1) * stride >= in + pad) --pooled;
  return pooled;
}

// The SPP top of x as Caffe computes it, in double.
std::vector<double> reference_spp(const Blob& x, int pyramid_height, Method pool) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  std::vector<std::vector<double>> rows(static_cast<size_t>(N));
  for (int l = 0; l < pyramid_height; ++l) {
    const int64_t bins = int64_t{1} << l;
    const int64_t kh = static_cast<int64_t>(std::ceil(H / static_cast<double>(bins)));
    const int64_t kw = static_cast<int64_t>(std::ceil(W / static_cast<double>(bins)));
    const int64_t ph = (kh * bins - H + 1) / 2, pw = (kw * bins - W + 1) / 2;
    EXPECT_EQ(caffe_pooled(H, kh, ph, kh), bins) << "level " << l;
    EXPECT_EQ(caffe_pooled(W, kw, pw, kw), bins) << "level " << l;
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t c = 0; c < C; ++c) {
        const float* plane = x.data() + (n * C + c) * H * W;
        for (int64_t by = 0; by < bins; ++by) {
          for (int64_t bx = 0; bx < bins; ++bx) {
            int64_t h0 = by * kh - ph, w0 = bx * kw - pw;
            int64_t h1 = std::min(h0 + kh, H + ph), w1 = std::min(w0 + kw, W + pw);
            const double divisor = static_cast<double>((h1 - h0) * (w1 - w0));
            h0 = std::max<int64_t>(h0, 0);
            w0 = std::max<int64_t>(w0, 0);
            h1 = std::min(h1, H);
            w1 = std::min(w1, W);
            double sum = 0.0, max = -std::numeric_limits<double>::infinity();
            for (int64_t i = h0; i < h1; ++i) {
              for (int64_t j = w0; j < w1; ++j) {
                sum += plane[i * W + j];
                max = std::max(max, static_cast<double>(plane[i * W + j]));
              }
            }
            rows[n].push_back(pool == Method::kMax ? max : sum / divisor);
          }
        }
      }
    }
  }
  std::vector<double> y;
  for (const auto& r : rows) y.insert(y.end(), r.begin(), r.end());
  return y;
}

TEST(SppLayerTest, TopShapes) {
  struct Case {
    int height;
    Shape bottom, top;
  };
  const Case cases[] = {
      {1, Shape{2, 3, 4, 5}, Shape{2, 3, 1, 1}},  // Caffe: the pooling's own output
      {2, Shape{2, 3, 4, 5}, Shape{2, 3 * 5}},
      {3, Shape{2, 3, 9, 7}, Shape{2, 3 * 21}},
      {4, Shape{1, 8, 15, 16}, Shape{1, 8 * 85}},
  };
  for (const Case& c : cases) {
    auto layer = new_spp_layer(make_spp_config(c.height, Method::kMax));
    LayerHarness h({c.bottom}, 1);
    ASSERT_TRUE(h.setup(*layer).ok()) << c.bottom.to_string();
    EXPECT_EQ(h.top()[0]->shape(), c.top) << c.bottom.to_string();
    EXPECT_TRUE(layer->params().empty());
  }
}

void expect_setup_error(const LayerConfig& config, const Shape& bottom,
                        const std::string& fragment) {
  auto layer = new_spp_layer(config);
  LayerHarness h({bottom}, 1);
  Status s = h.setup(*layer);
  ASSERT_FALSE(s.ok()) << fragment;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'spp' (SPP)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

TEST(SppLayerTest, RejectsBadConfig) {
  expect_setup_error(make_spp_config(0, Method::kMax), Shape{1, 2, 8, 8}, "got 0");
  expect_setup_error(make_spp_config(2, Method::kMax), Shape{1, 2, 8}, "must be 4-D");
  // Level 2 of a 3-high bottom: kernel 1, pad (4 - 3 + 1) / 2 = 1, as Caffe refuses.
  expect_setup_error(make_spp_config(3, Method::kAve), Shape{1, 2, 3, 8},
                     "pyramid level 2 pools the 3x8 bottom into 4x4 bins with kernel 1x2 and "
                     "pad 1x0");
}

struct SppCase {
  int height;
  Method pool;
  Shape bottom;
};

void PrintTo(const SppCase& p, std::ostream* os) {
  *os << "pyramid_height " << p.height << (p.pool == Method::kMax ? " MAX" : " AVE") << " bottom "
      << p.bottom.to_string();
}

const SppCase kSppCases[] = {
    {3, Method::kMax, Shape{2, 3, 9, 7}}, {3, Method::kAve, Shape{2, 3, 9, 7}},
    {2, Method::kAve, Shape{1, 2, 5, 6}}, {1, Method::kMax, Shape{2, 3, 4, 5}},
    {1, Method::kAve, Shape{1, 2, 3, 3}}, {4, Method::kAve, Shape{1, 2, 15, 16}},
    {2, Method::kMax, Shape{1, 2, 2, 3}},
};

class SppForwardTest : public ::testing::TestWithParam<SppCase> {};

TEST_P(SppForwardTest, MatchesCaffesDefinitionOnBothBackends) {
  const SppCase& p = GetParam();
  for (CpuBackend backend : {CpuBackend::kReference, CpuBackend::kDefault}) {
    auto layer = new_spp_layer(make_spp_config(p.height, p.pool));
    layer->set_cpu_options({1, backend});
    LayerHarness h({p.bottom}, 1, 17);
    ASSERT_TRUE(h.setup(*layer).ok());
    Blob* top = h.top()[0];
    std::fill(top->data(), top->data() + top->count(), std::numeric_limits<float>::quiet_NaN());
    layer->forward(h.bottom(), h.top(), h.ctx());
    const std::vector<double> ref = reference_spp(*h.bottom()[0], p.height, p.pool);
    ASSERT_EQ(static_cast<int64_t>(ref.size()), top->count());
    for (int64_t i = 0; i < top->count(); ++i) {
      ASSERT_NEAR(top->data()[i], ref[i], 1e-5 * std::max(1.0, std::fabs(ref[i])))
          << "element " << i << " backend " << static_cast<int>(backend);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, SppForwardTest, ::testing::ValuesIn(kSppCases));

class SppGradientTest : public ::testing::TestWithParam<SppCase> {};

TEST_P(SppGradientTest, MatchesFiniteDifferences) {
  const SppCase& p = GetParam();
  auto layer = new_spp_layer(make_spp_config(p.height, p.pool));
  LayerHarness h({p.bottom}, 1, 19);
  ASSERT_TRUE(h.setup(*layer).ok());
  GradientCheckOptions o;
  o.step = 1e-3f;
  o.threshold = 1e-2f;
  check_gradients(*layer, h, o);
}

TEST_P(SppGradientTest, BottomGradientIsOverwritten) {
  const SppCase& p = GetParam();
  auto layer = new_spp_layer(make_spp_config(p.height, p.pool));
  LayerHarness h({p.bottom}, 1, 23);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

INSTANTIATE_TEST_SUITE_P(Configs, SppGradientTest, ::testing::ValuesIn(kSppCases));

// AVE over every level: each input's gradient is the sum over levels of dy
// of the bin holding it divided by that bin's divisor; with dy = 1 and a
// 4x4 bottom (levels of 1, 2 and 4 bins, no padding) that is
// 1/16 + 1/4 + 1 for every pixel.
TEST(SppLayerTest, AveGradientSumsTheLevels) {
  auto layer = new_spp_layer(make_spp_config(3, Method::kAve));
  LayerHarness h({Shape{1, 2, 4, 4}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  layer->forward(h.bottom(), h.top(), h.ctx());
  Blob* top = h.top()[0];
  std::fill(top->diff(), top->diff() + top->count(), 1.0f);
  layer->backward(h.top(), {true}, h.bottom(), h.ctx());
  const Blob* b = h.bottom()[0];
  for (int64_t i = 0; i < b->count(); ++i) ASSERT_FLOAT_EQ(b->diff()[i], 1.3125f) << i;
}

TEST(SppLayerTest, NoBottomGradientWhenNotPropagating) {
  auto layer = new_spp_layer(make_spp_config(2, Method::kMax));
  LayerHarness h({Shape{1, 2, 4, 4}}, 1);
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
