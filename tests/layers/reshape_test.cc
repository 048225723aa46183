// Tests of the Reshape layer: Caffe's documented equivalent forms (0 copies,
// -1 infers, axis and num_axes), config errors naming the layer, values
// kept in order forward and backward, gradients and overwriting.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::LayerHarness;

LayerConfig make_reshape_config(std::vector<int64_t> shape, int axis = 0, int num_axes = -1) {
  LayerConfig c;
  c.name = "reshape1";
  c.type = "Reshape";
  c.reshape.shape = std::move(shape);
  c.reshape.axis = axis;
  c.reshape.num_axes = num_axes;
  return c;
}

struct ReshapeCase {
  std::vector<int64_t> shape;
  int axis, num_axes;
  Shape bottom, top;
};

// Caffe's caffe.proto comments give these as equivalent forms, plus a few
// on a 4-d bottom.
std::vector<ReshapeCase> reshape_cases() {
  return {
      {{2, 2, 4}, 0, -1, Shape{2, 8}, Shape{2, 2, 4}},
      {{0, 2, 4}, 0, -1, Shape{2, 8}, Shape{2, 2, 4}},
      {{0, 2, -1}, 0, -1, Shape{2, 8}, Shape{2, 2, 4}},
      {{0, -1, 4}, 0, -1, Shape{2, 8}, Shape{2, 2, 4}},
      {{2, 4}, 1, -1, Shape{2, 8}, Shape{2, 2, 4}},
      {{2, 4}, -2, -1, Shape{2, 8}, Shape{2, 2, 4}},
      {{1, 2, 8}, 0, -1, Shape{2, 8}, Shape{1, 2, 8}},
      {{1, 2}, 0, 1, Shape{2, 8}, Shape{1, 2, 8}},
      {{1}, 0, 0, Shape{2, 8}, Shape{1, 2, 8}},
      {{1}, 1, 0, Shape{2, 8}, Shape{2, 1, 8}},
      {{1}, -1, 0, Shape{2, 8}, Shape{2, 8, 1}},
      {{0, -1}, 0, -1, Shape{2, 3, 4, 5}, Shape{2, 60}},
      {{-1}, 1, 2, Shape{2, 3, 4, 5}, Shape{2, 12, 5}},
      {{3, 0, -1}, 1, -1, Shape{2, 3, 4, 5}, Shape{2, 3, 4, 5}},
      {{}, 0, -1, Shape{1, 1}, Shape{}},
  };
}

TEST(ReshapeLayerTest, TopShapeFollowsCaffeRules) {
  for (const ReshapeCase& k : reshape_cases()) {
    auto layer = new_reshape_layer(make_reshape_config(k.shape, k.axis, k.num_axes));
    LayerHarness h({k.bottom}, 1);
    Status s = h.setup(*layer);
    ASSERT_TRUE(s.ok()) << s.to_string();
    EXPECT_EQ(h.top()[0]->shape(), k.top)
        << "bottom " << k.bottom.to_string() << " axis " << k.axis << " num_axes " << k.num_axes;
  }
}

TEST(ReshapeLayerTest, RejectsBadConfig) {
  struct Case {
    std::vector<int64_t> shape;
    int axis, num_axes;
    std::string expect;
  };
  const Case cases[] = {
      {{5, -1}, 0, -1, "cannot infer the -1 dimension"},
      {{-1, -1}, 0, -1, "more than one -1"},
      {{3, 7}, 0, -1, "top shape (3, 7) has 21 elements but bottom shape (2, 3, 4) has 24"},
      {{0, 0, 0, 0}, 0, -1, "shape dim 3 is 0 (copy) but bottom shape (2, 3, 4) has no axis 3"},
      {{2, -3}, 0, -1, "shape dim 1 is -3"},
      {{24}, 4, -1, "axis 4 is out of range"},
      {{24}, -5, -1, "axis -5 is out of range"},
      {{24}, 2, 2, "reaches past the last axis"},
      {{24}, 0, -2, "num_axes must be >= -1"},
  };
  for (const Case& c : cases) {
    auto layer = new_reshape_layer(make_reshape_config(c.shape, c.axis, c.num_axes));
    LayerHarness h({Shape{2, 3, 4}}, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok()) << c.expect;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("'reshape1'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
}

TEST(ReshapeLayerTest, ValuesAndGradientsKeepTheirOrder) {
  for (const ReshapeCase& k : reshape_cases()) {
    auto layer = new_reshape_layer(make_reshape_config(k.shape, k.axis, k.num_axes));
    LayerHarness h({k.bottom}, 1, 3);
    ASSERT_TRUE(h.setup(*layer).ok());
    layer->forward(h.bottom(), h.top(), h.ctx());
    const int64_t n = k.bottom.count();
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(h.top()[0]->data()[i], h.bottom()[0]->data()[i]) << i;
      h.top()[0]->diff()[i] = 0.5f * static_cast<float>(i) - 3.0f;
    }
    EXPECT_NE(h.top()[0]->data(), h.bottom()[0]->data()) << "top and bottom never alias";
    layer->backward(h.top(), {true}, h.bottom(), h.ctx());
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(h.bottom()[0]->diff()[i], 0.5f * static_cast<float>(i) - 3.0f) << i;
    }
  }
}

TEST(ReshapeLayerTest, GradientsAndOverwriting) {
  auto layer = new_reshape_layer(make_reshape_config({0, -1, 2}));
  LayerHarness h({Shape{3, 4, 5}}, 1, 5);
  ASSERT_TRUE(h.setup(*layer).ok());
  EXPECT_EQ(h.top()[0]->shape(), (Shape{3, 10, 2}));
  check_gradients(*layer, h);
  check_accumulates_twice(*layer, h);
}

}  // namespace
}  // namespace banyan
