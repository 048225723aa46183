// GPU Softmax (cuDNN, CHANNEL mode over the axis) against the CPU path on
// every axis of a 4-D bottom, negative axes, a classifier's (N, classes), a
// single channel, and large inputs (the maximum must be subtracted).  Skips
// without a GPU.
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

struct GpuSoftmaxCase {
  Shape bottom;
  int axis;
};

void PrintTo(const GpuSoftmaxCase& p, std::ostream* os) {
  *os << "bottom " << p.bottom.to_string() << " axis " << p.axis;
}

LayerConfig make_gpu_softmax_config(int axis) {
  LayerConfig c;
  c.name = "prob";
  c.type = "Softmax";
  c.softmax.axis = axis;
  return c;
}

void compare(const GpuSoftmaxCase& p, const GpuCompareOptions& o = {}) {
  const LayerConfig config = make_gpu_softmax_config(p.axis);
  compare_gpu_to_cpu([&] { return new_softmax_layer(config); }, {p.bottom}, 1, o);
}

const GpuSoftmaxCase kGpuSoftmaxCases[] = {
    {Shape{2, 5, 3, 4}, 0}, {Shape{2, 5, 3, 4}, 1},    {Shape{2, 5, 3, 4}, 2},
    {Shape{2, 5, 3, 4}, 3}, {Shape{2, 5, 3, 4}, -1},   {Shape{2, 5, 3, 4}, -3},
    {Shape{8, 10}, 1},      {Shape{16, 1000}, -1},     {Shape{3, 1, 4}, 1},
    {Shape{7}, 0},          {Shape{2, 3, 2, 2, 3}, 2}, {Shape{4, 21, 9, 11}, 1},
};

class GpuSoftmaxTest : public ::testing::TestWithParam<GpuSoftmaxCase> {};

TEST_P(GpuSoftmaxTest, MatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  compare(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Configs, GpuSoftmaxTest, ::testing::ValuesIn(kGpuSoftmaxCases));

TEST(GpuSoftmaxLayerTest, StableForLargeInputs) {
  BANYAN_SKIP_WITHOUT_GPU();
  GpuCompareOptions o;
  o.prepare_bottoms = [](const std::vector<Blob*>& bottoms) {
    for (Blob* b : bottoms) {
      for (int64_t i = 0; i < b->count(); ++i) b->data()[i] = 100.0f * b->data()[i] + 500.0f;
    }
  };
  compare({Shape{4, 6, 2, 3}, 1}, o);
}

TEST(GpuSoftmaxLayerTest, NoBottomGradientWhenNotPropagating) {
  BANYAN_SKIP_WITHOUT_GPU();
  GpuCompareOptions o;
  o.propagate_down = {false};
  compare({Shape{2, 5, 3}, 1}, o);
}

}  // namespace
}  // namespace banyan
