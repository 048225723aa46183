// Tests of the Silence layer: any number of bottoms and no tops, forward
// leaves everything alone, backward zeroes exactly the gradients asked for.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::LayerHarness;

LayerConfig make_silence_config() {
  LayerConfig c;
  c.name = "silence1";
  c.type = "Silence";
  return c;
}

TEST(SilenceLayerTest, TakesBottomsAndNoTops) {
  for (int n : {1, 3}) {
    auto layer = new_silence_layer(make_silence_config());
    std::vector<Shape> shapes(n, Shape{2, 3});
    LayerHarness h(shapes, 0);
    EXPECT_TRUE(h.setup(*layer).ok());
  }
  {
    auto layer = new_silence_layer(make_silence_config());
    LayerHarness h({Shape{2, 3}}, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("'silence1'"), std::string::npos) << s.message();
  }
  auto layer = new_silence_layer(make_silence_config());
  LayerHarness h({}, 0);
  Status s = h.setup(*layer);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'silence1'"), std::string::npos) << s.message();
}

TEST(SilenceLayerTest, ForwardKeepsDataAndBackwardZeroesAskedGradients) {
  auto layer = new_silence_layer(make_silence_config());
  LayerHarness h({Shape{2, 3}, Shape{4}, Shape{1, 2, 5}}, 0, 3);
  ASSERT_TRUE(h.setup(*layer).ok());
  std::vector<std::vector<float>> before;
  for (Blob* b : h.bottom()) before.emplace_back(b->data(), b->data() + b->count());
  layer->forward(h.bottom(), h.top(), h.ctx());
  for (size_t i = 0; i < h.bottom().size(); ++i) {
    Blob* b = h.bottom()[i];
    for (int64_t j = 0; j < b->count(); ++j) ASSERT_EQ(b->data()[j], before[i][j]);
    for (int64_t j = 0; j < b->count(); ++j) b->diff()[j] = std::nanf("");
  }
  layer->backward(h.top(), {true, false, true}, h.bottom(), h.ctx());
  for (size_t i = 0; i < h.bottom().size(); ++i) {
    Blob* b = h.bottom()[i];
    for (int64_t j = 0; j < b->count(); ++j) {
      if (i == 1) {
        EXPECT_TRUE(std::isnan(b->diff()[j])) << "bottom 1 was not asked for";
      } else {
        EXPECT_EQ(b->diff()[j], 0.0f) << "bottom " << i << " element " << j;
      }
    }
  }
}

}  // namespace
}  // namespace banyan
