// Concat on the GPU against the CPU: every axis (negative too) of a rank-4
// blob, uneven bottoms, one bottom, and bottoms without gradient.
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

LayerConfig make_concat_config(int axis) {
  LayerConfig c;
  c.name = "concat1";
  c.type = "Concat";
  c.concat.axis = axis;
  return c;
}

// Three bottoms of (2, 3, 5, 7) whose `axis` dimension is 1, 4 and 2.
std::vector<Shape> bottoms_along(int axis) {
  std::vector<Shape> shapes;
  for (int64_t d : {1, 4, 2}) {
    Shape s{2, 3, 5, 7};
    s.set_dim(axis, d);
    shapes.push_back(s);
  }
  return shapes;
}

TEST(GpuConcatTest, MatchesCpuAlongEveryAxis) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (int axis : {0, 1, 2, 3, -1, -3}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    compare_gpu_to_cpu([&] { return new_concat_layer(make_concat_config(axis)); },
                       bottoms_along(axis), 1);
  }
}

TEST(GpuConcatTest, MatchesCpuWithOneBottomAndRankTwo) {
  BANYAN_SKIP_WITHOUT_GPU();
  compare_gpu_to_cpu([] { return new_concat_layer(make_concat_config(1)); }, {Shape{3, 5, 7}}, 1);
  compare_gpu_to_cpu([] { return new_concat_layer(make_concat_config(1)); },
                     {Shape{5, 3}, Shape{5, 11}}, 1);
}

TEST(GpuConcatTest, SkipsBottomsWithoutGradient) {
  BANYAN_SKIP_WITHOUT_GPU();
  GpuCompareOptions o;
  o.propagate_down = {true, false, true};
  compare_gpu_to_cpu([] { return new_concat_layer(make_concat_config(1)); }, bottoms_along(1), 1,
                     o);
}

}  // namespace
}  // namespace banyan
