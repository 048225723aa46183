// Split on the GPU against the CPU: copies forward and the sum of the top
// gradients backward, for one to five tops.
#include <gtest/gtest.h>

#include <string>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;

TEST(GpuSplitTest, MatchesCpuForAnyNumberOfTops) {
  BANYAN_SKIP_WITHOUT_GPU();
  LayerConfig c;
  c.name = "split1";
  c.type = "Split";
  for (int tops = 1; tops <= 5; ++tops) {
    for (const Shape& s : {Shape{7}, Shape{3, 5, 7, 9}}) {
      SCOPED_TRACE(std::to_string(tops) + " tops, shape " + s.to_string());
      compare_gpu_to_cpu([&] { return new_split_layer(c); }, {s}, tops);
    }
  }
}

}  // namespace
}  // namespace banyan
