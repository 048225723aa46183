// GPU LRN against the CPU path: cuDNN's cross-channel LRN for the parameters
// it takes (local_size <= 16, k >= 1e-5, beta >= 0.01) and the layer's own
// kernels beyond them (local_size 17 and 19, k 1e-6, beta 0.005); windows
// wider than C, one channel, AlexNet's settings.  Skips without a GPU.
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

class GpuLrnTest : public ::testing::TestWithParam<GpuLrnCase> {};

TEST_P(GpuLrnTest, MatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  const LayerConfig config = make_gpu_lrn_config(GetParam());
  compare_gpu_to_cpu([&] { return new_lrn_layer(config); }, {GetParam().bottom}, 1);
}

INSTANTIATE_TEST_SUITE_P(Configs, GpuLrnTest, ::testing::ValuesIn(kGpuLrnCases));

TEST(GpuLrnLayerTest, NoBottomGradientWhenNotPropagating) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (int local_size : {5, 17}) {  // cuDNN and own kernels
    const LayerConfig config = make_gpu_lrn_config({local_size, 1.0f, 0.75f, 1.0f, Shape{}});
    banyan::testing::GpuCompareOptions o;
    o.propagate_down = {false};
    compare_gpu_to_cpu([&] { return new_lrn_layer(config); }, {Shape{2, 18, 3, 2}}, 1, o);
  }
}

}  // namespace
}  // namespace banyan
