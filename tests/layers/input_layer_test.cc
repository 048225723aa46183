// Tests of the Input layer: shapes (one for all tops or one per top), errors,
// and that Forward leaves the caller's data alone.
#include "layers/input_layer.h"

#include <gtest/gtest.h>

#include <memory>

#include "layers/registry.h"

namespace banyan {
namespace {

LayerConfig config(std::vector<Shape> shapes) {
  LayerConfig c;
  c.name = "input";
  c.type = "Input";
  c.input.shapes = std::move(shapes);
  return c;
}

TEST(InputLayerTest, OneShapeForAllTops) {
  std::unique_ptr<Layer> l = new_input_layer(config({Shape{2, 3, 4, 5}}));
  Blob a("a"), b("b");
  ASSERT_TRUE(l->setup({}, {&a, &b}).ok());
  EXPECT_EQ(a.shape(), (Shape{2, 3, 4, 5}));
  EXPECT_EQ(b.shape(), (Shape{2, 3, 4, 5}));
}

TEST(InputLayerTest, OneShapePerTop) {
  std::unique_ptr<Layer> l = new_input_layer(config({Shape{8, 3, 7, 7}, Shape{8}}));
  Blob a("data"), b("label");
  ASSERT_TRUE(l->setup({}, {&a, &b}).ok());
  EXPECT_EQ(a.shape(), (Shape{8, 3, 7, 7}));
  EXPECT_EQ(b.shape(), (Shape{8}));
}

TEST(InputLayerTest, ForwardAndBackwardLeaveDataAlone) {
  std::unique_ptr<Layer> l = new_input_layer(config({Shape{2, 3}}));
  Blob a("a");
  ASSERT_TRUE(l->setup({}, {&a}).ok());
  ASSERT_TRUE(a.allocate(Device::cpu()).ok());
  for (int i = 0; i < 6; ++i) a.data()[i] = 1.5f * i - 2.0f;
  WorkerContext ctx(Device::cpu(), 1);
  l->forward({}, {&a}, ctx);
  l->backward({&a}, {}, {}, ctx);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.data()[i], 1.5f * i - 2.0f);
}

TEST(InputLayerTest, Errors) {
  Blob a("a"), b("b"), c("c");
  Status s = new_input_layer(config({Shape{1}, Shape{2}}))->setup({}, {&a, &b, &c});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("layer 'input'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("2 shape(s) for 3 top(s)"), std::string::npos) << s.message();
  Blob d("d");
  s = new_input_layer(config({Shape{4, 0, 2}}))->setup({}, {&d});
  EXPECT_NE(s.message().find("(4, 0, 2)"), std::string::npos) << s.message();
  Blob e("e");
  EXPECT_FALSE(new_input_layer(config({}))->setup({}, {&e}).ok());
  Blob f("f");
  EXPECT_FALSE(new_input_layer(config({Shape{}}))->setup({}, {&f}).ok());
  Blob bottom("bottom"), g("g");
  EXPECT_FALSE(new_input_layer(config({Shape{1}}))->setup({&bottom}, {&g}).ok());
}

}  // namespace
}  // namespace banyan
