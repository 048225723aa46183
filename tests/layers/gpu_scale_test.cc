// Scale on the GPU against the CPU: per-channel, multi-axis, scalar and
// trailing gammas, with and without bias; parameter gradients must
// accumulate onto the harness's preset 0.25 like the CPU's.
#include <gtest/gtest.h>

#include <string>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;
using banyan::testing::GpuCompareOptions;

LayerConfig make_scale_config(int axis, int num_axes, bool bias) {
  LayerConfig c;
  c.name = "scale1";
  c.type = "Scale";
  c.scale.axis = axis;
  c.scale.num_axes = num_axes;
  c.scale.bias_term = bias;
  c.scale.filler.value = 1.0f;
  c.scale.bias_filler.value = 0.2f;
  return c;
}

TEST(GpuScaleTest, MatchesCpuForEveryAxisLayout) {
  BANYAN_SKIP_WITHOUT_GPU();
  struct Case {
    int axis, num_axes;
  };
  for (bool bias : {false, true}) {
    for (Case k :
         {Case{1, 1}, Case{1, 2}, Case{0, -1}, Case{2, -1}, Case{1, 0}, Case{-1, 1}, Case{0, 1}}) {
      SCOPED_TRACE("axis " + std::to_string(k.axis) + " num_axes " + std::to_string(k.num_axes) +
                   (bias ? " with bias" : ""));
      compare_gpu_to_cpu(
          [&] { return new_scale_layer(make_scale_config(k.axis, k.num_axes, bias)); },
          {Shape{3, 5, 7, 9}}, 1);
    }
  }
}

TEST(GpuScaleTest, LargeReductionsAndNoBottomGradient) {
  BANYAN_SKIP_WITHOUT_GPU();
  // 64 x 33 x 33 elements per channel: several blocks per channel.
  compare_gpu_to_cpu([] { return new_scale_layer(make_scale_config(1, 1, true)); },
                     {Shape{64, 3, 33, 33}}, 1);
  GpuCompareOptions o;
  o.propagate_down = {false};
  compare_gpu_to_cpu([] { return new_scale_layer(make_scale_config(1, 1, true)); },
                     {Shape{4, 6, 5}}, 1, o);
}

}  // namespace
}  // namespace banyan
