// Tests of the CPU backends: the oneDNN convolution and GEMM paths against
// the reference BLAS/im2col code (forward and every gradient) over strided,
// padded, dilated, grouped, pointwise and bias-free shapes; finite
// differences and accumulation on both; bitwise repeatability for a fixed
// thread count; the threaded hand-written layers giving the same bits for
// any thread count; parallel_for's coverage; and the thread settings
// (BANYAN_CPU_THREADS, --cpu_backend).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/core/cpu_threads.h"
#include "engine/core/math.h"
#include "engine/core/parallel.h"
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
using banyan::testing::make_pool_config;
using banyan::testing::PoolCase;

// Everything one forward + backward pass produced: top data, bottom
// gradients and parameter gradients (or, for state the solver does not
// learn, its values), in that order.
std::vector<std::vector<float>> run_pass(Layer& layer, LayerHarness& h, uint64_t seed) {
  for (LayerParam& p : layer.params())
    std::fill(p.blob->diff(), p.blob->diff() + p.blob->count(), 0.0f);
  layer.forward(h.bottom(), h.top(), h.ctx());
  for (Blob* t : h.top()) fill_gaussian(t->diff(), t->count(), seed);
  std::vector<bool> down(h.bottom().size(), true);
  layer.backward(h.top(), down, h.bottom(), h.ctx());
  std::vector<std::vector<float>> out;
  for (Blob* t : h.top()) out.emplace_back(t->data(), t->data() + t->count());
  for (Blob* b : h.bottom()) out.emplace_back(b->diff(), b->diff() + b->count());
  for (LayerParam& p : layer.params()) {
    if (p.learnable) {
      out.emplace_back(p.blob->diff(), p.blob->diff() + p.blob->count());
    } else {  // state the layer updates (BatchNorm's statistics)
      out.emplace_back(p.blob->data(), p.blob->data() + p.blob->count());
    }
  }
  return out;
}

// Largest |a - b| over the largest |b|, per array.
void expect_close(const std::vector<std::vector<float>>& a,
                  const std::vector<std::vector<float>>& b, double tolerance) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].size(), b[k].size()) << "array " << k;
    double scale = 0.0, worst = 0.0;
    for (size_t i = 0; i < b[k].size(); ++i) {
      scale = std::max(scale, std::fabs(static_cast<double>(b[k][i])));
      worst = std::max(worst, std::fabs(static_cast<double>(a[k][i]) - b[k][i]));
    }
    ASSERT_GT(scale, 0.0) << "array " << k << " is all zero";
    EXPECT_LE(worst, tolerance * scale) << "array " << k << " (0: top, then bottom and param "
                                        << "gradients)";
  }
}

void expect_bitwise_equal(const std::vector<std::vector<float>>& a,
                          const std::vector<std::vector<float>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].size(), b[k].size());
    EXPECT_EQ(0, std::memcmp(a[k].data(), b[k].data(), a[k].size() * sizeof(float)))
        << "array " << k << " differs";
  }
}

// One layer with the given options, set up on `shapes` with inputs keyed by `seed`.
struct Built {
  std::unique_ptr<Layer> layer;
  std::unique_ptr<LayerHarness> harness;
};

Built build(const LayerConfig& config, std::unique_ptr<Layer> (*make)(const LayerConfig&),
            const std::vector<Shape>& shapes, CpuOptions options, uint64_t seed) {
  Built b;
  b.layer = make(config);
  b.layer->set_cpu_options(options);
  b.harness = std::make_unique<LayerHarness>(shapes, 1, seed);
  const Status s = b.harness->setup(*b.layer);
  EXPECT_TRUE(s.ok()) << s.message();
  return b;
}

struct ConvBackendCase {
  Shape bottom;
  ConvCase conv;
};

const ConvBackendCase kConvCases[] = {
    // Fashion-MNIST's conv2 (a small batch of it) and conv1.
    {Shape{2, 32, 14, 14}, {64, 5, 5, 1, 1, 2, 2, 1, 1, 1, false}},
    {Shape{3, 1, 28, 28}, {32, 5, 5, 1, 1, 2, 2, 1, 1, 1, false}},
    // AlexNet-like conv1 (11x11 stride 4) and a grouped conv with bias.
    {Shape{2, 3, 35, 35}, {16, 11, 11, 4, 4, 0, 0, 1, 1, 1, true}},
    {Shape{2, 8, 9, 9}, {12, 3, 3, 1, 1, 1, 1, 1, 1, 2, true}},
    // Non-square, strided, padded, dilated; pointwise.
    {Shape{2, 4, 9, 10}, {6, 3, 2, 2, 1, 1, 2, 2, 1, 1, true}},
    {Shape{2, 6, 5, 4}, {5, 1, 1, 1, 1, 0, 0, 1, 1, 1, true}},
    // Caffe's ceil-free output size with padding that oneDNN must trim.
    {Shape{1, 3, 8, 8}, {4, 3, 3, 2, 2, 1, 1, 1, 1, 1, true}},
};

class ConvolutionBackendTest : public ::testing::TestWithParam<ConvBackendCase> {};

TEST_P(ConvolutionBackendTest, OneDnnMatchesReference) {
  const LayerConfig config = make_conv_config(GetParam().conv);
  Built fast =
      build(config, new_convolution_layer, {GetParam().bottom}, {2, CpuBackend::kDefault}, 21);
  Built ref =
      build(config, new_convolution_layer, {GetParam().bottom}, {1, CpuBackend::kReference}, 21);
  expect_close(run_pass(*fast.layer, *fast.harness, 5), run_pass(*ref.layer, *ref.harness, 5),
               2e-5);
}

TEST_P(ConvolutionBackendTest, GradientsAndAccumulationOnBothBackends) {
  const LayerConfig config = make_conv_config(GetParam().conv);
  for (const CpuOptions options :
       {CpuOptions{2, CpuBackend::kDefault}, CpuOptions{1, CpuBackend::kReference}}) {
    SCOPED_TRACE(cpu_backend_name(options.backend));
    Built b = build(config, new_convolution_layer, {GetParam().bottom}, options, 3);
    GradientCheckOptions o;
    o.step = 1e-2f;
    o.threshold = 1e-2f;
    o.max_checks_per_blob = 60;
    check_gradients(*b.layer, *b.harness, o);
    check_accumulates_twice(*b.layer, *b.harness);
  }
}

TEST_P(ConvolutionBackendTest, OneDnnRepeatsItsBits) {
  const LayerConfig config = make_conv_config(GetParam().conv);
  Built b = build(config, new_convolution_layer, {GetParam().bottom}, {2, CpuBackend::kDefault}, 8);
  const auto first = run_pass(*b.layer, *b.harness, 9);
  expect_bitwise_equal(first, run_pass(*b.layer, *b.harness, 9));
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvolutionBackendTest, ::testing::ValuesIn(kConvCases));

LayerConfig inner_product_config(int outputs, bool transpose) {
  LayerConfig c;
  c.name = "fc";
  c.type = "InnerProduct";
  c.inner_product.num_output = outputs;
  c.inner_product.transpose = transpose;
  c.inner_product.weight_filler.type = "gaussian";
  return c;
}

TEST(InnerProductBackendTest, OneDnnGemmMatchesReference) {
  // 37 outputs for 16 rows: the forward through y^T; 7: the plain GEMM.
  for (int outputs : {37, 7})
    for (bool transpose : {false, true}) {
      SCOPED_TRACE(std::to_string(outputs) +
                   (transpose ? " outputs, transposed weights" : " outputs"));
      const LayerConfig config = inner_product_config(outputs, transpose);
      const std::vector<Shape> shapes{Shape{16, 8, 7, 7}};
      Built fast = build(config, new_inner_product_layer, shapes, {2, CpuBackend::kDefault}, 4);
      Built ref = build(config, new_inner_product_layer, shapes, {1, CpuBackend::kReference}, 4);
      expect_close(run_pass(*fast.layer, *fast.harness, 6), run_pass(*ref.layer, *ref.harness, 6),
                   1e-5);
      check_accumulates_twice(*fast.layer, *fast.harness);
    }
}

// The hand-written layers split their loops among threads; by design each
// output is computed by one thread in a fixed order, so 1 and 3 threads
// must agree to the bit.  Shapes are large enough to cross kParallelMinWork.
struct ThreadCase {
  const char* what;
  std::function<LayerConfig()> config;
  std::unique_ptr<Layer> (*make)(const LayerConfig&);
  Shape bottom;
};

std::vector<ThreadCase> thread_cases() {
  auto named = [](const char* type) {
    LayerConfig c;
    c.name = type;
    c.type = type;
    return c;
  };
  return {
      {"ReLU", [=] { return named("ReLU"); }, new_relu_layer, Shape{4, 8, 33, 31}},
      {"leaky ReLU",
       [=] {
         LayerConfig c = named("ReLU");
         c.relu.negative_slope = 0.1f;
         return c;
       },
       new_relu_layer, Shape{4, 8, 33, 31}},
      {"max pool 3x3/2",
       [] {
         return make_pool_config({PoolingConfig::Method::kMax, 3, 3, 2, 2});
       },
       new_pooling_layer, Shape{4, 16, 27, 27}},
      {"ave pool 2x2/2 pad 1",
       [] {
         return make_pool_config({PoolingConfig::Method::kAve, 2, 2, 2, 2, 1, 1});
       },
       new_pooling_layer, Shape{4, 16, 28, 28}},
      {"BatchNorm", [=] { return named("BatchNorm"); }, new_batch_norm_layer, Shape{8, 16, 14, 14}},
      {"Scale",
       [=] {
         LayerConfig c = named("Scale");
         c.scale.bias_term = true;
         return c;
       },
       new_scale_layer, Shape{8, 16, 14, 14}},
      {"LRN",
       [=] {
         LayerConfig c = named("LRN");
         c.lrn.local_size = 5;
         c.lrn.alpha = 1e-2f;
         c.lrn.beta = 0.75f;
         return c;
       },
       new_lrn_layer, Shape{4, 16, 13, 13}},
  };
}

TEST(ThreadedLayersTest, AnyThreadCountGivesTheSameBits) {
  for (const ThreadCase& tc : thread_cases()) {
    SCOPED_TRACE(tc.what);
    Built one = build(tc.config(), tc.make, {tc.bottom}, {1, CpuBackend::kDefault}, 12);
    Built three = build(tc.config(), tc.make, {tc.bottom}, {3, CpuBackend::kDefault}, 12);
    const auto a = run_pass(*one.layer, *one.harness, 13);
    const auto b = run_pass(*three.layer, *three.harness, 13);
    expect_bitwise_equal(a, b);
    // And they agree with the reference path's numbers.
    Built ref = build(tc.config(), tc.make, {tc.bottom}, {1, CpuBackend::kReference}, 12);
    expect_close(run_pass(*ref.layer, *ref.harness, 13), a, 1e-5);
  }
}

TEST(ParallelForTest, EveryItemOnceInRangesOnTheAlignment) {
  for (int threads : {1, 2, 3, 7}) {
    use_cpu_threads(threads);
    for (int64_t n : {0, 1, 15, 16, 17, 1000, 40000, 100003}) {
      for (int64_t align : {1, 16}) {
        std::vector<int> hits(static_cast<size_t>(n), 0);
        std::vector<std::pair<int64_t, int64_t>> ranges(64, {-1, -1});
        parallel_for(n, 1, align, [&](int64_t begin, int64_t end) {
          ranges[static_cast<size_t>(omp_get_thread_num())] = {begin, end};
          for (int64_t i = begin; i < end; ++i) ++hits[static_cast<size_t>(i)];
        });
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(hits[static_cast<size_t>(i)], 1)
              << "item " << i << " of " << n << ", " << threads << " threads, align " << align;
        }
        for (const auto& [begin, end] : ranges) {
          if (begin < 0 || end == n) continue;
          EXPECT_EQ(end % align, 0) << "range [" << begin << ", " << end << ") of " << n;
        }
      }
    }
  }
}

TEST(AllFiniteTest, FindsOneBadValueAnywhere) {
  use_cpu_threads(2);
  std::vector<float> x(100003);
  fill_gaussian(x.data(), static_cast<int64_t>(x.size()), 3, 0.0f, 1e30f);
  EXPECT_TRUE(cpu_all_finite(static_cast<int64_t>(x.size()), x.data()));
  for (size_t at : {size_t{0}, size_t{17}, x.size() / 2, x.size() - 1}) {
    for (float bad :
         {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
          -std::numeric_limits<float>::infinity()}) {
      const float keep = x[at];
      x[at] = bad;
      EXPECT_FALSE(cpu_all_finite(static_cast<int64_t>(x.size()), x.data())) << at << " " << bad;
      x[at] = keep;
    }
  }
  EXPECT_TRUE(cpu_all_finite(0, x.data()));
}

TEST(CpuThreadsTest, EnvironmentSetsTheDefault) {
  const char* saved = std::getenv("BANYAN_CPU_THREADS");
  const std::string keep = saved != nullptr ? saved : "";
  setenv("BANYAN_CPU_THREADS", "3", 1);
  EXPECT_EQ(default_cpu_threads(), 3);
  setenv("BANYAN_CPU_THREADS", "two", 1);  // ignored (warning): the cores
  const int cores = default_cpu_threads();
  EXPECT_GE(cores, 1);
  unsetenv("BANYAN_CPU_THREADS");
  EXPECT_EQ(default_cpu_threads(), cores);
  if (saved != nullptr) setenv("BANYAN_CPU_THREADS", keep.c_str(), 1);
}

TEST(CpuThreadsTest, BackendNames) {
  CpuBackend b = CpuBackend::kReference;
  ASSERT_TRUE(parse_cpu_backend("default", &b).ok());
  EXPECT_EQ(b, CpuBackend::kDefault);
  ASSERT_TRUE(parse_cpu_backend("reference", &b).ok());
  EXPECT_EQ(b, CpuBackend::kReference);
  const Status s = parse_cpu_backend("mkl", &b);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'mkl'"), std::string::npos) << s.message();
}

TEST(CpuThreadsTest, WorkerContextResolvesZeroThreads) {
  WorkerContext ctx(Device::cpu(), 1);
  ctx.set_cpu_options({0, CpuBackend::kReference});
  EXPECT_EQ(ctx.cpu().threads, default_cpu_threads());
  EXPECT_EQ(ctx.cpu().backend, CpuBackend::kReference);
  ctx.set_cpu_options({5, CpuBackend::kDefault});
  EXPECT_EQ(ctx.cpu().threads, 5);
}

}  // namespace
}  // namespace banyan
