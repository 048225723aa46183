// ReLU on the GPU against the CPU: plain and leaky (positive and negative
// slope), odd shapes of several ranks.  In-place runs are in
// gpu_layer_state_test.cc (the comparison harness uses distinct tops).
#include <gtest/gtest.h>

#include <string>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;

LayerConfig make_relu_config(float slope) {
  LayerConfig c;
  c.name = "relu1";
  c.type = "ReLU";
  c.relu.negative_slope = slope;
  return c;
}

TEST(GpuReluTest, MatchesCpuForEverySlopeAndShape) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (float slope : {0.0f, 0.1f, -0.3f}) {
    for (const Shape& s : {Shape{7}, Shape{3, 5, 7, 9}, Shape{2, 3, 1, 13}, Shape{1, 1000003}}) {
      SCOPED_TRACE("slope " + std::to_string(slope) + " shape " + s.to_string());
      compare_gpu_to_cpu([&] { return new_relu_layer(make_relu_config(slope)); }, {s}, 1);
    }
  }
}

}  // namespace
}  // namespace banyan
