// GPU InnerProduct (cuBLAS GEMMs, own bias kernels) against the CPU path:
// axis choices (negative too), transposed weights, bias on and off, one
// output, a classifier-sized layer, and weight/bias gradients accumulated
// onto non-zero values without a bottom gradient.  Skips without a GPU.
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

struct GpuIpCase {
  Shape bottom;
  int num_output, axis;
  bool transpose, bias;
};

void PrintTo(const GpuIpCase& p, std::ostream* os) {
  *os << "bottom " << p.bottom.to_string() << " num_output " << p.num_output << " axis " << p.axis
      << (p.transpose ? " transposed" : "") << (p.bias ? " bias" : " no bias");
}

LayerConfig make_gpu_ip_config(const GpuIpCase& p) {
  LayerConfig c;
  c.name = "fc6";
  c.type = "InnerProduct";
  c.inner_product.num_output = p.num_output;
  c.inner_product.axis = p.axis;
  c.inner_product.transpose = p.transpose;
  c.inner_product.bias_term = p.bias;
  return c;
}

void compare(const GpuIpCase& p, const GpuCompareOptions& o = {}) {
  const LayerConfig config = make_gpu_ip_config(p);
  compare_gpu_to_cpu([&] { return new_inner_product_layer(config); }, {p.bottom}, 1, o);
}

// cuBLAS sums the dot products in another order than OpenBLAS; inputs and
// weights are N(0, 1), so a K-term dot product is of size sqrt(K).
GpuCompareOptions ip_options() {
  GpuCompareOptions o;
  o.rel_tol = 2e-5f;
  o.abs_tol = 1e-5f;
  return o;
}

const GpuIpCase kGpuIpCases[] = {
    {Shape{3, 2, 3, 2}, 5, 1, false, true}, {Shape{3, 2, 3, 2}, 5, 1, true, true},
    {Shape{2, 3, 5}, 4, 2, false, false},   {Shape{2, 3, 5}, 4, -1, true, true},
    {Shape{4, 7}, 1, 1, false, true},       {Shape{5, 3, 4, 4}, 10, 1, false, true},
    {Shape{5, 3, 4, 4}, 6, 2, true, false}, {Shape{5, 3, 4, 4}, 3, 0, false, true},  // one row
    {Shape{16, 256}, 100, 1, false, true},  {Shape{16, 256}, 100, 1, true, true},
    {Shape{33, 70}, 45, -1, false, true},  // more than 32 outputs: two bias blocks
};

class GpuInnerProductTest : public ::testing::TestWithParam<GpuIpCase> {};

TEST_P(GpuInnerProductTest, MatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  compare(GetParam(), ip_options());
}

INSTANTIATE_TEST_SUITE_P(Configs, GpuInnerProductTest, ::testing::ValuesIn(kGpuIpCases));

TEST(GpuInnerProductLayerTest, ParamGradientsWithoutBottomGradient) {
  BANYAN_SKIP_WITHOUT_GPU();
  GpuCompareOptions o = ip_options();
  o.propagate_down = {false};
  compare({Shape{6, 9}, 7, 1, false, true}, o);
  compare({Shape{6, 9}, 7, 1, true, true}, o);
}

}  // namespace
}  // namespace banyan
