// Tests of the Input layer: shapes (one for all tops or one per top), errors,
// and that Forward leaves the caller's data alone.
#include "layers/input_layer.h"

#include <gtest/gtest.h>

#include <memory>

#include "layers/registry.h"

namespace banyan {
namespace {

LayerConfig Config(std::vector<Shape> shapes) {
  LayerConfig c;
  c.name = "input";
  c.type = "Input";
  c.input.shapes = std::move(shapes);
  return c;
}

TEST(InputLayerTest, OneShapeForAllTops) {
  std::unique_ptr<Layer> l = NewInputLayer(Config({Shape{2, 3, 4, 5}}));
  Blob a("a"), b("b");
  ASSERT_TRUE(l->Setup({}, {&a, &b}).ok());
  EXPECT_EQ(a.shape(), (Shape{2, 3, 4, 5}));
  EXPECT_EQ(b.shape(), (Shape{2, 3, 4, 5}));
}

TEST(InputLayerTest, OneShapePerTop) {
  std::unique_ptr<Layer> l = NewInputLayer(Config({Shape{8, 3, 7, 7}, Shape{8}}));
  Blob a("data"), b("label");
  ASSERT_TRUE(l->Setup({}, {&a, &b}).ok());
  EXPECT_EQ(a.shape(), (Shape{8, 3, 7, 7}));
  EXPECT_EQ(b.shape(), (Shape{8}));
}

TEST(InputLayerTest, ForwardAndBackwardLeaveDataAlone) {
  std::unique_ptr<Layer> l = NewInputLayer(Config({Shape{2, 3}}));
  Blob a("a");
  ASSERT_TRUE(l->Setup({}, {&a}).ok());
  ASSERT_TRUE(a.Allocate(Device::Cpu()).ok());
  for (int i = 0; i < 6; ++i) a.data()[i] = 1.5f * i - 2.0f;
  WorkerContext ctx(Device::Cpu(), 1);
  l->Forward({}, {&a}, ctx);
  l->Backward({&a}, {}, {}, ctx);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.data()[i], 1.5f * i - 2.0f);
}

TEST(InputLayerTest, Errors) {
  Blob a("a"), b("b"), c("c");
  Status s = NewInputLayer(Config({Shape{1}, Shape{2}}))->Setup({}, {&a, &b, &c});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("layer 'input'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("2 shape(s) for 3 top(s)"), std::string::npos) << s.message();
  Blob d("d");
  s = NewInputLayer(Config({Shape{4, 0, 2}}))->Setup({}, {&d});
  EXPECT_NE(s.message().find("(4, 0, 2)"), std::string::npos) << s.message();
  Blob e("e");
  EXPECT_FALSE(NewInputLayer(Config({}))->Setup({}, {&e}).ok());
  Blob f("f");
  EXPECT_FALSE(NewInputLayer(Config({Shape{}}))->Setup({}, {&f}).ok());
  Blob bottom("bottom"), g("g");
  EXPECT_FALSE(NewInputLayer(Config({Shape{1}}))->Setup({&bottom}, {&g}).ok());
}

}  // namespace
}  // namespace banyan
