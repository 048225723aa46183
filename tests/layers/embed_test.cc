// Tests of Embed: the top shape, forward against a row lookup, the weight and
// bias gradients against a reference sum (repeated indices accumulate) and a
// finite-difference check, accumulation, and bad indices.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::fill_gaussian;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;

LayerConfig embed_config(bool bias) {
  LayerConfig c;
  c.name = "embed1";
  c.type = "Embed";
  c.embed.num_output = 4;
  c.embed.input_dim = 5;
  c.embed.bias_term = bias;
  return c;
}

void fill_indices(Blob* b) {
  for (int64_t i = 0; i < b->count(); ++i) b->data()[i] = float((i * 3) % 5 == 4 ? 1 : (i * 3) % 5);
}

TEST(EmbedLayerTest, LooksUpRowsAndAccumulatesGradients) {
  for (bool bias : {true, false}) {
    SCOPED_TRACE(bias ? "with bias" : "no bias");
    auto layer = new_embed_layer(embed_config(bias));
    LayerHarness h({Shape{2, 3}}, 1, 3);
    ASSERT_TRUE(h.setup(*layer).ok());
    EXPECT_FALSE(layer->can_propagate_down(0));
    EXPECT_EQ(h.top()[0]->shape(), (Shape{2, 3, 4}));
    ASSERT_EQ(layer->params().size(), bias ? 2u : 1u);
    EXPECT_EQ(layer->params()[0].blob->shape(), (Shape{5, 4}));
    fill_indices(h.bottom()[0]);
    layer->forward(h.bottom(), h.top(), h.ctx());
    ASSERT_FALSE(h.ctx().has_error());
    const float* w = layer->params()[0].blob->data();
    const float* b = bias ? layer->params()[1].blob->data() : nullptr;
    for (int64_t m = 0; m < 6; ++m) {
      const int64_t i = static_cast<int64_t>(h.bottom()[0]->data()[m]);
      for (int64_t d = 0; d < 4; ++d) {
        EXPECT_EQ(h.top()[0]->data()[m * 4 + d], w[i * 4 + d] + (bias ? b[d] : 0.0f));
      }
    }
    // Gradients from 0: dW row i = sum of dy rows with index i; db = sum of dy rows.
    fill_gaussian(h.top()[0]->diff(), 24, 17);
    for (LayerParam& p : layer->params())
      std::fill(p.blob->diff(), p.blob->diff() + p.blob->count(), 0.0f);
    layer->backward(h.top(), {false}, h.bottom(), h.ctx());
    std::vector<double> dw(20, 0.0), db(4, 0.0);
    for (int64_t m = 0; m < 6; ++m) {
      const int64_t i = static_cast<int64_t>(h.bottom()[0]->data()[m]);
      for (int64_t d = 0; d < 4; ++d) {
        dw[i * 4 + d] += h.top()[0]->diff()[m * 4 + d];
        db[d] += h.top()[0]->diff()[m * 4 + d];
      }
    }
    for (int64_t k = 0; k < 20; ++k) EXPECT_NEAR(layer->params()[0].blob->diff()[k], dw[k], 1e-5);
    for (int64_t d = 0; bias && d < 4; ++d) {
      EXPECT_NEAR(layer->params()[1].blob->diff()[d], db[d], 1e-5);
    }
    GradientCheckOptions o;
    o.step = 1e-3f;
    check_gradients(*layer, h, o, {false});
    check_accumulates_twice(*layer, h);
  }
}

TEST(EmbedLayerTest, BadIndexIsReported) {
  auto layer = new_embed_layer(embed_config(true));
  LayerHarness h({Shape{3}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  for (float v : {5.0f, -1.0f, 0.5f}) {
    h.bottom()[0]->data()[0] = 0.0f;
    h.bottom()[0]->data()[1] = 2.0f;
    h.bottom()[0]->data()[2] = v;
    layer->forward(h.bottom(), h.top(), h.ctx());
    const Status e = h.ctx().take_error();
    EXPECT_EQ(e.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(e.message().find("'embed1'"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("index " + format_value(v) +
                               " at position 2 is not an integer in "
                               "[0, 5)"),
              std::string::npos)
        << e.message();
  }
}

}  // namespace
}  // namespace banyan
