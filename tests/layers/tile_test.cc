// Tests of the Tile layer: top shapes, config errors naming the layer,
// forward against an index reference, the gradient (finite differences and
// an exact sum of the copies) and overwriting.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::LayerHarness;

LayerConfig make_tile_config(int axis, int tiles) {
  LayerConfig c;
  c.name = "tile1";
  c.type = "Tile";
  c.tile.axis = axis;
  c.tile.tiles = tiles;
  return c;
}

struct TileCase {
  int axis, tiles;
  int canonical;
};

const Shape kBottom{2, 3, 4};
const TileCase kCases[] = {{1, 3, 1}, {0, 2, 0}, {-1, 4, 2}, {2, 1, 2}, {-3, 3, 0}};

TEST(TileLayerTest, TopShapeMultipliesTheAxis) {
  for (const TileCase& k : kCases) {
    auto layer = new_tile_layer(make_tile_config(k.axis, k.tiles));
    LayerHarness h({kBottom}, 1);
    ASSERT_TRUE(h.setup(*layer).ok());
    Shape expect = kBottom;
    expect.set_dim(k.canonical, kBottom.dim(k.canonical) * k.tiles);
    EXPECT_EQ(h.top()[0]->shape(), expect) << "axis " << k.axis;
  }
}

TEST(TileLayerTest, RejectsBadConfig) {
  struct Case {
    int axis, tiles;
    std::string expect;
  };
  const Case cases[] = {
      {1, 0, "tiles must be > 0, got 0"},
      {1, -2, "tiles must be > 0, got -2"},
      {3, 2, "axis 3 is out of range"},
      {-4, 2, "axis -4 is out of range"},
  };
  for (const Case& c : cases) {
    auto layer = new_tile_layer(make_tile_config(c.axis, c.tiles));
    LayerHarness h({kBottom}, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok()) << c.expect;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("'tile1'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
}

TEST(TileLayerTest, ForwardMatchesReference) {
  for (const TileCase& k : kCases) {
    auto layer = new_tile_layer(make_tile_config(k.axis, k.tiles));
    LayerHarness h({kBottom}, 1, 3);
    ASSERT_TRUE(h.setup(*layer).ok());
    layer->forward(h.bottom(), h.top(), h.ctx());
    const Shape& out = h.top()[0]->shape();
    const int a = k.canonical;
    // Top index (p, j, q) with j < tiles * dim reads bottom (p, j % dim, q).
    const int64_t outer = kBottom.count(0, a), dim = kBottom.dim(a), inner = kBottom.count(a + 1);
    for (int64_t p = 0; p < outer; ++p) {
      for (int64_t j = 0; j < out.dim(a); ++j) {
        for (int64_t q = 0; q < inner; ++q) {
          const float got = h.top()[0]->data()[(p * out.dim(a) + j) * inner + q];
          const float want = h.bottom()[0]->data()[(p * dim + j % dim) * inner + q];
          ASSERT_EQ(got, want) << "axis " << k.axis << " (" << p << ", " << j << ", " << q << ")";
        }
      }
    }
  }
}

TEST(TileLayerTest, GradientSumsTheCopies) {
  for (const TileCase& k : kCases) {
    auto layer = new_tile_layer(make_tile_config(k.axis, k.tiles));
    LayerHarness h({kBottom}, 1, 5);
    ASSERT_TRUE(h.setup(*layer).ok());
    check_gradients(*layer, h);
  }
  // Exact: (2) tiled 3 times along axis 0 -> (6); dx[i] = dy[i] + dy[i+2] + dy[i+4].
  auto layer = new_tile_layer(make_tile_config(0, 3));
  LayerHarness h({Shape{2}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  const float dy[] = {1, 2, 10, 20, 100, 200};
  std::copy(dy, dy + 6, h.top()[0]->diff());
  layer->backward(h.top(), {true}, h.bottom(), h.ctx());
  EXPECT_EQ(h.bottom()[0]->diff()[0], 111.0f);
  EXPECT_EQ(h.bottom()[0]->diff()[1], 222.0f);
}

TEST(TileLayerTest, SecondBackwardOverwrites) {
  auto layer = new_tile_layer(make_tile_config(1, 3));
  LayerHarness h({Shape{2, 5, 3}}, 1, 7);
  ASSERT_TRUE(h.setup(*layer).ok());
  check_accumulates_twice(*layer, h);
}

}  // namespace
}  // namespace banyan
