// Eltwise on the GPU against the CPU: SUM (with and without coefficients),
// PROD and MAX, for two, three and ten bottoms (more than one fused kernel
// launch), and with some bottoms not propagating.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;
using banyan::testing::GpuCompareOptions;
using Op = EltwiseConfig::Op;

LayerConfig make_eltwise_config(Op op, std::vector<float> coeff = {}) {
  LayerConfig c;
  c.name = "elt";
  c.type = "Eltwise";
  c.eltwise.operation = op;
  c.eltwise.coeff = std::move(coeff);
  return c;
}

std::vector<float> coefficients(int n) {
  std::vector<float> c;
  for (int k = 0; k < n; ++k) c.push_back(k % 2 == 0 ? 0.5f + k : -1.25f * k);
  return c;
}

TEST(GpuEltwiseTest, MatchesCpuForEveryOperation) {
  BANYAN_SKIP_WITHOUT_GPU();
  const Shape shape{3, 5, 7, 9};
  for (int n : {2, 3, 10}) {
    std::vector<Shape> bottoms(n, shape);
    for (Op op : {Op::kSum, Op::kProd, Op::kMax}) {
      SCOPED_TRACE(std::to_string(n) + " bottoms, op " + std::to_string(static_cast<int>(op)));
      compare_gpu_to_cpu([&] { return new_eltwise_layer(make_eltwise_config(op)); }, bottoms, 1);
    }
    SCOPED_TRACE(std::to_string(n) + " bottoms, SUM with coefficients");
    compare_gpu_to_cpu(
        [&] { return new_eltwise_layer(make_eltwise_config(Op::kSum, coefficients(n))); }, bottoms,
        1);
  }
}

TEST(GpuEltwiseTest, SkipsBottomsWithoutGradient) {
  BANYAN_SKIP_WITHOUT_GPU();
  GpuCompareOptions o;
  o.propagate_down = {false, true, true};
  for (Op op : {Op::kSum, Op::kProd, Op::kMax}) {
    SCOPED_TRACE("op " + std::to_string(static_cast<int>(op)));
    compare_gpu_to_cpu([&] { return new_eltwise_layer(make_eltwise_config(op)); },
                       {Shape{13, 7}, Shape{13, 7}, Shape{13, 7}}, 1, o);
  }
}

}  // namespace
}  // namespace banyan
