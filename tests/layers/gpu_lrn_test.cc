// GPU LRN against the CPU path: cuDNN's cross-channel LRN for the parameters
// it takes (local_size <= 16, k >= 1e-5, beta >= 0.01) and the layer's own
// kernels beyond them (local_size 17 and 19, k 1e-6, beta 0.005); windows
// wider than C, one channel, AlexNet's settings; WITHIN_CHANNEL (own kernels
// always) with CIFAR-10's settings and windows larger than the image.  The bottom gradient's
// tolerance is relative to the terms it is made of (lrn_gradient_terms), not
// to the result: with k = 1e-6 they are ~1e3 and cancel.  Skips without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;

struct GpuLrnCase {
  int local_size;
  float alpha, beta, k;
  Shape bottom;
};

void PrintTo(const GpuLrnCase& p, std::ostream* os) {
  *os << "local_size " << p.local_size << " alpha " << p.alpha << " beta " << p.beta << " k " << p.k
      << " bottom " << p.bottom.to_string();
}

LayerConfig make_gpu_lrn_config(const GpuLrnCase& p) {
  LayerConfig c;
  c.name = "norm1";
  c.type = "LRN";
  c.lrn.local_size = p.local_size;
  c.lrn.alpha = p.alpha;
  c.lrn.beta = p.beta;
  c.lrn.k = p.k;
  return c;
}

const GpuLrnCase kGpuLrnCases[] = {
    // cuDNN's range.
    {5, 1e-4f, 0.75f, 1.0f, Shape{2, 7, 3, 4}},   // AlexNet's settings
    {5, 1e-4f, 0.75f, 2.0f, Shape{2, 32, 6, 5}},  // the paper's k
    {3, 2.0f, 0.75f, 1.0f, Shape{2, 5, 2, 3}},    // strong normalisation
    {5, 1.5f, 0.6f, 2.0f, Shape{1, 3, 4, 3}},     // window wider than C
    {1, 0.9f, 1.2f, 0.5f, Shape{2, 4, 3, 2}},     // window of one channel
    {7, 3.0f, 0.75f, 1.0f, Shape{1, 9, 2, 2}},
    {15, 1.0f, 0.75f, 1.0f, Shape{2, 20, 3, 3}},
    // The layer's own kernels: parameters cuDNN does not take.
    {17, 1.0f, 0.75f, 1.0f, Shape{2, 20, 3, 3}},
    {19, 1e-4f, 0.75f, 1.0f, Shape{1, 8, 5, 4}},  // window wider than C
    {5, 1e-4f, 0.75f, 1e-6f, Shape{2, 7, 3, 4}},
    {5, 2.0f, 0.005f, 1.0f, Shape{2, 7, 3, 4}},
    {3, 2.0f, 0.75f, 1e-6f, Shape{2, 5, 2, 3}},
};

// LRN's bottom gradient in double from x and dy (the CPU's formula):
//   dx_i = dy_i s_i^-beta - (2 alpha beta / n) x_i sum_{j in window(i)} dy_j y_j / s_j,
// and the magnitude of its terms, |dy_i| s_i^-beta + (2 alpha beta / n) |x_i|
// sum_j |dy_j y_j / s_j|.  With a tiny k, s ~ 1e-5 and s^-beta ~ 1e3: the two
// terms nearly cancel, and the float rounding of each (powf's ulps,
// summation order) is relative to them, not to the result.
struct LrnGradient {
  std::vector<double> dx, terms;
};

LrnGradient lrn_double_gradient(const GpuLrnCase& p, const Blob& x, const float* dy) {
  const int64_t num = x.dim(0), channels = x.dim(1);
  const int64_t plane = x.count() / (num * channels);
  const int half = p.local_size / 2;
  const double alpha_over_n = static_cast<double>(p.alpha) / p.local_size;
  const double coef = 2.0 * p.alpha * p.beta / p.local_size;
  const size_t count = static_cast<size_t>(x.count());
  std::vector<double> scale(count), y(count);
  LrnGradient g{std::vector<double>(count), std::vector<double>(count)};
  auto at = [&](int64_t n, int64_t c, int64_t i) { return (n * channels + c) * plane + i; };
  auto window = [&](int64_t c, auto fn) {
    for (int64_t j = std::max<int64_t>(c - half, 0); j <= std::min(c + half, channels - 1); ++j) {
      fn(j);
    }
  };
  for (int64_t n = 0; n < num; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t i = 0; i < plane; ++i) {
        double sum = 0.0;
        window(c, [&](int64_t j) { sum += double(x.data()[at(n, j, i)]) * x.data()[at(n, j, i)]; });
        const int64_t e = at(n, c, i);
        scale[e] = p.k + alpha_over_n * sum;
        y[e] = x.data()[e] * std::pow(scale[e], -static_cast<double>(p.beta));
      }
    }
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t i = 0; i < plane; ++i) {
        double cross = 0.0, cross_abs = 0.0;
        window(c, [&](int64_t j) {
          const int64_t o = at(n, j, i);
          cross += dy[o] * y[o] / scale[o];
          cross_abs += std::fabs(dy[o] * y[o] / scale[o]);
        });
        const int64_t e = at(n, c, i);
        const double direct = dy[e] * std::pow(scale[e], -static_cast<double>(p.beta));
        g.dx[e] = direct - coef * x.data()[e] * cross;
        g.terms[e] = std::fabs(direct) + coef * std::fabs(x.data()[e]) * cross_abs;
      }
    }
  }
  return g;
}

constexpr float kLrnRelTol = 1e-5f;  // GpuCompareOptions' default, ~84 float ulps

class GpuLrnTest : public ::testing::TestWithParam<GpuLrnCase> {};

TEST_P(GpuLrnTest, MatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  const GpuLrnCase p = GetParam();
  const LayerConfig config = make_gpu_lrn_config(p);
  banyan::testing::GpuCompareOptions o;
  o.rel_tol = kLrnRelTol;
  o.bottom_diff_magnitude = [p](const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
    return lrn_double_gradient(p, *bottom[0], top[0]->diff()).terms;
  };
  compare_gpu_to_cpu([&] { return new_lrn_layer(config); }, {p.bottom}, 1, o);
}

INSTANTIATE_TEST_SUITE_P(Configs, GpuLrnTest, ::testing::ValuesIn(kGpuLrnCases));

// Runs on the CPU: the tolerance above is honest.  The float CPU gradient
// stays within kLrnRelTol x max(|dx|, terms, 1) of the double reference for
// every case, tiny k included, so a GPU within that bound of the CPU is as
// exact as the CPU itself.
TEST(LrnToleranceTest, FloatGradientWithinTheTermBoundOfDouble) {
  for (const GpuLrnCase& p : kGpuLrnCases) {
    SCOPED_TRACE(::testing::PrintToString(p));
    std::unique_ptr<Layer> layer = new_lrn_layer(make_gpu_lrn_config(p));
    banyan::testing::LayerHarness h({p.bottom}, 1, 11);
    ASSERT_TRUE(h.setup(*layer).ok());
    layer->forward(h.bottom(), h.top(), h.ctx());
    Blob* top = h.top()[0];
    banyan::testing::fill_gaussian(top->diff(), top->count(), 77);
    layer->backward(h.top(), {true}, h.bottom(), h.ctx());
    const LrnGradient ref = lrn_double_gradient(p, *h.bottom()[0], top->diff());
    for (int64_t i = 0; i < h.bottom()[0]->count(); ++i) {
      const double bound = kLrnRelTol * std::max({std::fabs(ref.dx[i]), ref.terms[i], 1.0});
      ASSERT_LE(std::fabs(h.bottom()[0]->diff()[i] - ref.dx[i]), bound) << "element " << i;
    }
  }
}

TEST(GpuLrnLayerTest, NoBottomGradientWhenNotPropagating) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (int local_size : {5, 17}) {  // cuDNN and own kernels
    const LayerConfig config = make_gpu_lrn_config({local_size, 1.0f, 0.75f, 1.0f, Shape{}});
    banyan::testing::GpuCompareOptions o;
    o.propagate_down = {false};
    compare_gpu_to_cpu([&] { return new_lrn_layer(config); }, {Shape{2, 18, 3, 2}}, 1, o);
  }
}

// WITHIN_CHANNEL: the scale is at least 1 (k is not used), so the terms of
// the gradient cannot cancel and the default tolerance applies.
struct GpuLrnWithinCase {
  int local_size;
  float alpha, beta;
  Shape bottom;
};

void PrintTo(const GpuLrnWithinCase& p, std::ostream* os) {
  *os << "WITHIN_CHANNEL local_size " << p.local_size << " alpha " << p.alpha << " beta " << p.beta
      << " bottom " << p.bottom.to_string();
}

const GpuLrnWithinCase kGpuLrnWithinCases[] = {
    {3, 5e-5f, 0.75f, Shape{2, 32, 16, 16}},  // Caffe's cifar10_full norm1
    {3, 2.0f, 0.75f, Shape{2, 3, 5, 4}},      // strong normalisation
    {5, 1.5f, 0.6f, Shape{1, 2, 3, 7}},       // window taller than the image
    {1, 0.9f, 1.2f, Shape{2, 2, 3, 2}},       // window of one pixel
    {9, 1.0f, 0.75f, Shape{1, 3, 12, 10}},   {3, 1.0f, 1.0f, Shape{1, 1, 1, 1}},
};

class GpuLrnWithinChannelTest : public ::testing::TestWithParam<GpuLrnWithinCase> {};

TEST_P(GpuLrnWithinChannelTest, MatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  const GpuLrnWithinCase p = GetParam();
  LayerConfig config = make_gpu_lrn_config({p.local_size, p.alpha, p.beta, 1.0f, p.bottom});
  config.lrn.norm_region = LrnConfig::NormRegion::kWithinChannel;
  compare_gpu_to_cpu([&] { return new_lrn_layer(config); }, {p.bottom}, 1);
  banyan::testing::GpuCompareOptions o;
  o.propagate_down = {false};
  compare_gpu_to_cpu([&] { return new_lrn_layer(config); }, {p.bottom}, 1, o);
}

INSTANTIATE_TEST_SUITE_P(Configs, GpuLrnWithinChannelTest, ::testing::ValuesIn(kGpuLrnWithinCases));

}  // namespace
}  // namespace banyan
