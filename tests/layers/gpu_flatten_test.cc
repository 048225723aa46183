// Flatten on the GPU against the CPU: the default axes and partial ranges.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;

TEST(GpuFlattenTest, MatchesCpuForSeveralAxisRanges) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (auto [axis, end_axis] :
       {std::pair{1, -1}, std::pair{0, -1}, std::pair{2, 3}, std::pair{-3, -2}}) {
    SCOPED_TRACE("axis " + std::to_string(axis) + " end_axis " + std::to_string(end_axis));
    LayerConfig c;
    c.name = "flat";
    c.type = "Flatten";
    c.flatten.axis = axis;
    c.flatten.end_axis = end_axis;
    compare_gpu_to_cpu([&] { return new_flatten_layer(c); }, {Shape{3, 5, 7, 9}}, 1);
  }
}

}  // namespace
}  // namespace banyan
