// Crop, Slice, Reshape, Tile, Silence, Reduction and ArgMax on the GPU
// against the CPU on random inputs: tops, and bottom gradients (poisoned
// before the kernels run, so windows left unwritten show up).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;
using banyan::testing::GpuCompareOptions;

LayerConfig named(const char* type) {
  LayerConfig c;
  c.name = std::string(type) + "1";
  c.type = type;
  return c;
}

TEST(GpuShapeLayersTest, CropMatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  struct Case {
    int axis;
    std::vector<int64_t> offset;
    Shape bottom, ref;
  };
  const Case cases[] = {
      {2, {1, 3}, Shape{3, 4, 9, 11}, Shape{1, 1, 5, 6}},
      {1, {}, Shape{2, 5, 6, 7}, Shape{2, 3, 4, 5}},
      {-1, {2}, Shape{2, 3, 40}, Shape{2, 3, 17}},
      {0, {1, 2}, Shape{70, 90}, Shape{33, 65}},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE("axis " + std::to_string(k.axis));
    LayerConfig c = named("Crop");
    c.crop.axis = k.axis;
    c.crop.offset = k.offset;
    GpuCompareOptions o;
    o.propagate_down = {true, false};
    compare_gpu_to_cpu([&] { return new_crop_layer(c); }, {k.bottom, k.ref}, 1, o);
  }
}

TEST(GpuShapeLayersTest, SliceMatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  LayerConfig c = named("Slice");
  c.slice.axis = 1;
  c.slice.slice_point = {2, 7};
  compare_gpu_to_cpu([&] { return new_slice_layer(c); }, {Shape{4, 9, 5, 6}}, 3);
  c.slice.axis = -1;
  c.slice.slice_point = {};
  compare_gpu_to_cpu([&] { return new_slice_layer(c); }, {Shape{3, 5, 8}}, 4);
  c.slice.axis = 0;
  compare_gpu_to_cpu([&] { return new_slice_layer(c); }, {Shape{6, 300}}, 2);
}

TEST(GpuShapeLayersTest, ReshapeMatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  LayerConfig c = named("Reshape");
  c.reshape.shape = {0, -1, 3};
  compare_gpu_to_cpu([&] { return new_reshape_layer(c); }, {Shape{4, 6, 5, 7}}, 1);
}

TEST(GpuShapeLayersTest, TileMatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (int axis : {0, 1, -1}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    LayerConfig c = named("Tile");
    c.tile.axis = axis;
    c.tile.tiles = 5;
    compare_gpu_to_cpu([&] { return new_tile_layer(c); }, {Shape{3, 4, 6, 7}}, 1);
  }
}

TEST(GpuShapeLayersTest, SilenceZeroesGradients) {
  BANYAN_SKIP_WITHOUT_GPU();
  LayerConfig c = named("Silence");
  compare_gpu_to_cpu([&] { return new_silence_layer(c); }, {Shape{3, 5}, Shape{7}}, 0);
  GpuCompareOptions o;
  o.propagate_down = {false, true};
  compare_gpu_to_cpu([&] { return new_silence_layer(c); }, {Shape{3, 5}, Shape{7}}, 0, o);
}

TEST(GpuShapeLayersTest, ReductionMatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  using Op = ReductionConfig::Op;
  for (Op op : {Op::kSum, Op::kAsum, Op::kSumSq, Op::kMean}) {
    for (int axis : {0, 1, -1}) {
      SCOPED_TRACE("op " + std::to_string(static_cast<int>(op)) + " axis " + std::to_string(axis));
      LayerConfig c = named("Reduction");
      c.reduction.operation = op;
      c.reduction.axis = axis;
      c.reduction.coeff = 0.7f;
      // Rows of 4 * 33 * 35 (several strides of a block), 3 * 4 * 33 rows of 35.
      compare_gpu_to_cpu([&] { return new_reduction_layer(c); }, {Shape{3, 4, 33, 35}}, 1);
    }
  }
}

TEST(GpuShapeLayersTest, ArgMaxMatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  struct Case {
    int top_k;
    bool out_max_val;
    std::optional<int> axis;
  };
  for (const Case& k : {Case{1, false, std::nullopt}, Case{5, true, std::nullopt},
                        Case{3, false, 1}, Case{2, true, -1}, Case{1, true, 0}}) {
    SCOPED_TRACE("top_k " + std::to_string(k.top_k));
    LayerConfig c = named("ArgMax");
    c.argmax.top_k = k.top_k;
    c.argmax.out_max_val = k.out_max_val;
    c.argmax.axis = k.axis;
    GpuCompareOptions o;
    o.check_backward = false;
    o.rel_tol = 0.0f;
    o.abs_tol = 0.0f;
    compare_gpu_to_cpu([&] { return new_argmax_layer(c); }, {Shape{4, 10, 6, 5}}, 1, o);
  }
}

}  // namespace
}  // namespace banyan
