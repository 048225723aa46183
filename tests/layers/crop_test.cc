// Tests of the Crop layer: top shapes for Caffe's axis/offset forms, config
// errors naming the layer, forward against a multi-index reference, the
// gradient (finite differences; zero outside the window; none for the
// reference bottom) and overwriting on a second backward.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::LayerHarness;

LayerConfig make_crop_config(int axis, std::vector<int64_t> offset) {
  LayerConfig c;
  c.name = "crop1";
  c.type = "Crop";
  c.crop.axis = axis;
  c.crop.offset = std::move(offset);
  return c;
}

// The flat index of `idx` in a blob of `shape`.
int64_t flat(const Shape& shape, const std::vector<int64_t>& idx) {
  int64_t f = 0;
  for (int d = 0; d < shape.num_axes(); ++d) f = f * shape.dim(d) + idx[d];
  return f;
}

// The multi-index of flat index `k` in `shape`.
std::vector<int64_t> unflat(const Shape& shape, int64_t k) {
  std::vector<int64_t> idx(shape.num_axes());
  for (int d = shape.num_axes() - 1; d >= 0; --d) {
    idx[d] = k % shape.dim(d);
    k /= shape.dim(d);
  }
  return idx;
}

struct CropCase {
  int axis;
  std::vector<int64_t> offset;
  Shape bottom, ref, top;
  std::vector<int64_t> full_offset;  // per axis of the bottom
};

std::vector<CropCase> crop_cases() {
  return {
      {2, {}, Shape{2, 3, 7, 9}, Shape{1, 1, 4, 5}, Shape{2, 3, 4, 5}, {0, 0, 0, 0}},
      {2, {2}, Shape{2, 3, 7, 9}, Shape{1, 1, 4, 5}, Shape{2, 3, 4, 5}, {0, 0, 2, 2}},
      {2, {3, 1}, Shape{2, 3, 7, 9}, Shape{5, 5, 4, 5}, Shape{2, 3, 4, 5}, {0, 0, 3, 1}},
      {1, {1, 0, 4}, Shape{2, 3, 7, 9}, Shape{2, 2, 7, 5}, Shape{2, 2, 7, 5}, {0, 1, 0, 4}},
      {-1, {2}, Shape{2, 3, 7, 9}, Shape{1, 1, 1, 6}, Shape{2, 3, 7, 6}, {0, 0, 0, 2}},
      {0, {1, 1}, Shape{4, 6}, Shape{2, 3}, Shape{2, 3}, {1, 1}},
  };
}

TEST(CropLayerTest, TopShapeFollowsAxisAndReference) {
  for (const CropCase& k : crop_cases()) {
    auto layer = new_crop_layer(make_crop_config(k.axis, k.offset));
    LayerHarness h({k.bottom, k.ref}, 1);
    Status s = h.setup(*layer);
    ASSERT_TRUE(s.ok()) << s.to_string();
    EXPECT_EQ(h.top()[0]->shape(), k.top) << "axis " << k.axis;
    EXPECT_TRUE(layer->can_propagate_down(0));
    EXPECT_FALSE(layer->can_propagate_down(1));
  }
}

TEST(CropLayerTest, RejectsBadConfig) {
  struct Case {
    int axis;
    std::vector<int64_t> offset;
    Shape bottom, ref;
    std::string expect;
  };
  const Case cases[] = {
      {2, {}, Shape{2, 3, 4, 5}, Shape{2, 3, 4}, "differ in rank"},
      {4, {}, Shape{2, 3, 4, 5}, Shape{2, 3, 4, 5}, "axis 4 is out of range"},
      {-5, {}, Shape{2, 3, 4, 5}, Shape{2, 3, 4, 5}, "axis -5 is out of range"},
      {1, {1, 1}, Shape{2, 3, 4, 5}, Shape{2, 2, 2, 2}, "2 offsets for 3 cropped axes"},
      {2, {2}, Shape{2, 3, 4, 5}, Shape{2, 3, 3, 3}, "offset 2 plus size 3"},
      {2, {}, Shape{2, 3, 4, 5}, Shape{2, 3, 6, 5}, "passes dimension 4"},
  };
  for (const Case& c : cases) {
    auto layer = new_crop_layer(make_crop_config(c.axis, c.offset));
    LayerHarness h({c.bottom, c.ref}, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok()) << c.expect;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("'crop1'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
  auto layer = new_crop_layer(make_crop_config(2, {}));
  LayerHarness one({Shape{2, 3, 4, 5}}, 1);
  EXPECT_FALSE(one.setup(*layer).ok());
}

TEST(CropLayerTest, ForwardMatchesReference) {
  for (const CropCase& k : crop_cases()) {
    auto layer = new_crop_layer(make_crop_config(k.axis, k.offset));
    LayerHarness h({k.bottom, k.ref}, 1, 3);
    ASSERT_TRUE(h.setup(*layer).ok());
    layer->forward(h.bottom(), h.top(), h.ctx());
    const Shape& out = h.top()[0]->shape();
    for (int64_t t = 0; t < out.count(); ++t) {
      std::vector<int64_t> idx = unflat(out, t);
      for (size_t d = 0; d < idx.size(); ++d) idx[d] += k.full_offset[d];
      ASSERT_EQ(h.top()[0]->data()[t], h.bottom()[0]->data()[flat(k.bottom, idx)])
          << "axis " << k.axis << " element " << t;
    }
  }
}

TEST(CropLayerTest, GradientScattersIntoTheWindowOnly) {
  for (const CropCase& k : crop_cases()) {
    auto layer = new_crop_layer(make_crop_config(k.axis, k.offset));
    LayerHarness h({k.bottom, k.ref}, 1, 5);
    ASSERT_TRUE(h.setup(*layer).ok());
    check_gradients(*layer, h, {}, {true, false});
    // Exact: each window element gets its top gradient, the rest zero; bottom 1 untouched.
    Blob* dy = h.top()[0];
    for (int64_t i = 0; i < dy->count(); ++i) dy->diff()[i] = 1.0f + static_cast<float>(i);
    Blob* ref = h.bottom()[1];
    for (int64_t i = 0; i < ref->count(); ++i) ref->diff()[i] = -7.0f;
    layer->backward(h.top(), {true, false}, h.bottom(), h.ctx());
    std::vector<float> expect(k.bottom.count(), 0.0f);
    for (int64_t t = 0; t < dy->count(); ++t) {
      std::vector<int64_t> idx = unflat(dy->shape(), t);
      for (size_t d = 0; d < idx.size(); ++d) idx[d] += k.full_offset[d];
      expect[flat(k.bottom, idx)] = dy->diff()[t];
    }
    for (int64_t i = 0; i < k.bottom.count(); ++i) {
      ASSERT_EQ(h.bottom()[0]->diff()[i], expect[i]) << "axis " << k.axis << " element " << i;
    }
    for (int64_t i = 0; i < ref->count(); ++i) ASSERT_EQ(ref->diff()[i], -7.0f);
  }
}

TEST(CropLayerTest, SecondBackwardOverwrites) {
  auto layer = new_crop_layer(make_crop_config(1, {1, 2, 3}));
  LayerHarness h({Shape{2, 4, 6, 7}, Shape{2, 2, 3, 4}}, 1, 7);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

}  // namespace
}  // namespace banyan
