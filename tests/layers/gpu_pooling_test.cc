// GPU Pooling (the layer's own kernels) against the CPU path: MAX and AVE with
// Caffe's CEIL and FLOOR rounding, the dropped last window, windows hanging
// past the padded input (AVE divisor), windows that miss the input, global
// pooling, and MAX ties (the first position must win on both).  Skips
// without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"
#include "tests/layers/layer_cases.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;
using banyan::testing::GpuCompareOptions;
using banyan::testing::make_pool_config;
using banyan::testing::PoolCase;
using Method = PoolingConfig::Method;
using RoundMode = PoolingConfig::RoundMode;

struct GpuPoolCase {
  Shape bottom;
  PoolCase pool;
};

void PrintTo(const GpuPoolCase& c, std::ostream* os) {
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

void compare(const GpuPoolCase& k, const GpuCompareOptions& o = {}) {
  const LayerConfig config = make_pool_config(k.pool);
  compare_gpu_to_cpu([&] { return new_pooling_layer(config); }, {k.bottom}, 1, o);
}

const GpuPoolCase kGpuPoolCases[] = {
    // CEIL keeps a partial last window (7 = 3 + 2*2), FLOOR drops it.
    {Shape{2, 3, 7, 7}, {Method::kMax, 3, 3, 2, 2}},
    {Shape{2, 3, 7, 7}, {Method::kAve, 3, 3, 2, 2}},
    {Shape{1, 2, 6, 6}, {Method::kMax, 3, 3, 2, 2}},
    {Shape{1, 2, 6, 6}, {Method::kAve, 3, 3, 2, 2}},
    {Shape{1, 2, 6, 6}, {Method::kMax, 3, 3, 2, 2, 0, 0, RoundMode::kFloor}},
    {Shape{1, 2, 6, 6}, {Method::kAve, 3, 3, 2, 2, 0, 0, RoundMode::kFloor}},
    // pad 1, CEIL: the last window would start in the bottom padding: dropped.
    {Shape{2, 2, 5, 5}, {Method::kAve, 3, 3, 3, 3, 1, 1}},
    {Shape{2, 2, 5, 5}, {Method::kMax, 3, 3, 3, 3, 1, 1}},
    // pad 1, last window starts inside the padded input and hangs past it.
    {Shape{1, 3, 6, 6}, {Method::kMax, 2, 2, 2, 2, 1, 1}},
    {Shape{1, 3, 6, 6}, {Method::kAve, 2, 2, 2, 2, 1, 1}},
    {Shape{2, 2, 8, 8}, {Method::kAve, 3, 3, 2, 2, 1, 1}},
    {Shape{2, 2, 8, 9}, {Method::kMax, 3, 3, 2, 2, 1, 1}},
    // Non-square kernel, stride and pad, both roundings.
    {Shape{2, 1, 7, 10}, {Method::kAve, 2, 3, 1, 2, 1, 0}},
    {Shape{2, 1, 7, 10}, {Method::kAve, 2, 3, 1, 2, 1, 0, RoundMode::kFloor}},
    {Shape{2, 1, 7, 10}, {Method::kMax, 2, 3, 1, 2, 1, 0}},
    {Shape{2, 1, 7, 10}, {Method::kMax, 3, 2, 2, 1, 2, 1, RoundMode::kFloor}},
    // Stride larger than the kernel: some CEIL windows miss the input.
    {Shape{2, 2, 5, 5}, {Method::kMax, 1, 1, 1, 3}},
    {Shape{2, 2, 5, 5}, {Method::kAve, 1, 1, 1, 3}},
    {Shape{1, 2, 8, 7}, {Method::kAve, 2, 2, 3, 3}},
    // Global pooling.
    {Shape{2, 3, 5, 7}, {Method::kAve, 0, 0, 1, 1, 0, 0, RoundMode::kCeil, true}},
    {Shape{2, 3, 4, 1}, {Method::kMax, 0, 0, 1, 1, 0, 0, RoundMode::kCeil, true}},
    {Shape{2, 4, 13, 13}, {Method::kMax, 0, 0, 1, 1, 0, 0, RoundMode::kCeil, true}},
    // AlexNet pool1 shape, fewer channels.
    {Shape{2, 8, 55, 55}, {Method::kMax, 3, 3, 2, 2}},
    {Shape{2, 8, 27, 27}, {Method::kAve, 3, 3, 2, 2}},
};

class GpuPoolingTest : public ::testing::TestWithParam<GpuPoolCase> {};

TEST_P(GpuPoolingTest, MatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  compare(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Configs, GpuPoolingTest, ::testing::ValuesIn(kGpuPoolCases));

// Inputs rounded to {-2, ..., 2} make most windows hold ties; the GPU must
// pick the same (first, row-major) position and route the gradient there.
TEST(GpuPoolingLayerTest, MaxTiesMatchCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  GpuCompareOptions o;
  o.prepare_bottoms = [](const std::vector<Blob*>& bottoms) {
    for (Blob* b : bottoms) {
      for (int64_t i = 0; i < b->count(); ++i) b->data()[i] = std::round(b->data()[i]);
    }
  };
  compare({Shape{2, 3, 9, 9}, {Method::kMax, 3, 3, 2, 2, 1, 1}}, o);
  compare({Shape{2, 3, 8, 8}, {Method::kMax, 2, 2, 1, 1}}, o);
}

TEST(GpuPoolingLayerTest, NoBottomGradientWhenNotPropagating) {
  BANYAN_SKIP_WITHOUT_GPU();
  GpuCompareOptions o;
  o.propagate_down = {false};
  compare({Shape{2, 2, 6, 6}, {Method::kAve, 2, 2, 1, 1}}, o);
}

}  // namespace
}  // namespace banyan
