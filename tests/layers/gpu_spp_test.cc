// GPU SPP (the Pooling layers' own kernels per level, the column copies and
// the levels' gradient sum in spp.cu) against the CPU path on random inputs:
// MAX and AVE, one level (the pooling's own top) and several, padded levels.
// Skips without a GPU.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;
using banyan::testing::GpuCompareOptions;
using Method = PoolingConfig::Method;

struct GpuSppCase {
  int height;
  Method pool;
  Shape bottom;
};

void PrintTo(const GpuSppCase& p, std::ostream* os) {
  *os << "pyramid_height " << p.height << (p.pool == Method::kMax ? " MAX" : " AVE") << " bottom "
      << p.bottom.to_string();
}

LayerConfig make_gpu_spp_config(const GpuSppCase& p) {
  LayerConfig c;
  c.name = "spp";
  c.type = "SPP";
  c.spp.pyramid_height = p.height;
  c.spp.pool = p.pool;
  return c;
}

const GpuSppCase kGpuSppCases[] = {
    {1, Method::kMax, Shape{2, 3, 4, 5}},    {1, Method::kAve, Shape{2, 3, 4, 5}},
    {3, Method::kMax, Shape{2, 3, 9, 7}},    {3, Method::kAve, Shape{2, 3, 9, 7}},
    {4, Method::kMax, Shape{2, 16, 15, 16}}, {4, Method::kAve, Shape{1, 8, 14, 15}},
    {2, Method::kAve, Shape{3, 5, 5, 6}},
};

class GpuSppTest : public ::testing::TestWithParam<GpuSppCase> {};

TEST_P(GpuSppTest, MatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  const LayerConfig config = make_gpu_spp_config(GetParam());
  compare_gpu_to_cpu([&] { return new_spp_layer(config); }, {GetParam().bottom}, 1);
}

INSTANTIATE_TEST_SUITE_P(Configs, GpuSppTest, ::testing::ValuesIn(kGpuSppCases));

TEST(GpuSppLayerTest, NoBottomGradientWhenNotPropagating) {
  BANYAN_SKIP_WITHOUT_GPU();
  const LayerConfig config = make_gpu_spp_config({3, Method::kMax, Shape{}});
  GpuCompareOptions o;
  o.propagate_down = {false};
  compare_gpu_to_cpu([&] { return new_spp_layer(config); }, {Shape{2, 3, 8, 8}}, 1, o);
}

}  // namespace
}  // namespace banyan
