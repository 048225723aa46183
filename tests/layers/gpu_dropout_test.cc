// Dropout on the GPU against the CPU in TRAIN: the counter-based mask must
// drop exactly the CPU's units (tolerance 1e-6), for several ratios, shapes
// and steps.  TEST phase and in-place runs are in gpu_layer_state_test.cc.
#include <gtest/gtest.h>

#include <string>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;
using banyan::testing::GpuCompareOptions;

LayerConfig make_dropout_config(float ratio) {
  LayerConfig c;
  c.name = "drop7";
  c.type = "Dropout";
  c.dropout.dropout_ratio = ratio;
  return c;
}

TEST(GpuDropoutTest, TrainDropsExactlyTheCpuUnits) {
  BANYAN_SKIP_WITHOUT_GPU();
  GpuCompareOptions o;
  o.rel_tol = 1e-6f;
  o.abs_tol = 1e-7f;
  for (float ratio : {0.0f, 0.1f, 0.5f, 0.9f}) {
    for (const Shape& s : {Shape{5}, Shape{3, 7}, Shape{4, 3, 5, 7}, Shape{2, 100003}}) {
      for (int64_t iteration : {0, 3, 1000001}) {
        SCOPED_TRACE("ratio " + std::to_string(ratio) + " shape " + s.to_string() + " iteration " +
                     std::to_string(iteration));
        o.iteration = iteration;
        compare_gpu_to_cpu([&] { return new_dropout_layer(make_dropout_config(ratio)); }, {s}, 1,
                           o);
      }
    }
  }
}

TEST(GpuDropoutTest, MaskFollowsTheSeed) {
  BANYAN_SKIP_WITHOUT_GPU();
  GpuCompareOptions o;
  o.rel_tol = 1e-6f;
  o.abs_tol = 1e-7f;
  for (uint64_t seed : {1u, 12345u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    o.seed = seed;
    compare_gpu_to_cpu([&] { return new_dropout_layer(make_dropout_config(0.5f)); },
                       {Shape{6, 3, 11}}, 1, o);
  }
}

}  // namespace
}  // namespace banyan
