// Tests of PReLU: slope shapes and the default 0.25 filler, forward against a
// reference for per-channel and shared slopes, finite-difference gradients
// for the input and the slopes, accumulation, in-place runs, and the
// one-axis error.
#include <gtest/gtest.h>

#include <string>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::check_in_place_matches;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;

LayerConfig prelu_config(bool shared) {
  LayerConfig c;
  c.name = "prelu1";
  c.type = "PReLU";
  c.prelu.channel_shared = shared;
  return c;
}

TEST(PReluLayerTest, ForwardGradientsAndAccumulation) {
  for (bool shared : {false, true}) {
    for (const Shape& shape : {Shape{2, 3, 4, 5}, Shape{6, 4}}) {
      SCOPED_TRACE((shared ? "shared " : "per channel ") + shape.to_string());
      auto layer = new_prelu_layer(prelu_config(shared));
      LayerHarness h({shape}, 1, 9);
      ASSERT_TRUE(h.setup(*layer).ok());
      ASSERT_EQ(layer->params().size(), 1u);
      EXPECT_EQ(layer->params()[0].blob->shape(), shared ? Shape{} : Shape{shape.dim(1)});
      EXPECT_EQ(layer->params()[0].filler.type, "constant");
      EXPECT_EQ(layer->params()[0].filler.value, 0.25f);
      layer->forward(h.bottom(), h.top(), h.ctx());
      const float* x = h.bottom()[0]->data();
      const float* a = layer->params()[0].blob->data();
      const int64_t inner = shape.count(2);
      for (int64_t k = 0; k < shape.count(); ++k) {
        const float slope = a[shared ? 0 : (k / inner) % shape.dim(1)];
        EXPECT_EQ(h.top()[0]->data()[k], x[k] > 0 ? x[k] : slope * x[k]) << k;
      }
      GradientCheckOptions o;
      o.step = 1e-3f;
      o.kink_range = 2e-3f;  // the kink at x = 0
      check_gradients(*layer, h, o);
      check_accumulates_twice(*layer, h);
    }
  }
}

TEST(PReluLayerTest, InPlaceMatchesOutOfPlace) {
  for (bool shared : {false, true}) {
    check_in_place_matches([&] { return new_prelu_layer(prelu_config(shared)); }, Shape{3, 4, 5});
  }
}

TEST(PReluLayerTest, NeedsTwoAxes) {
  auto layer = new_prelu_layer(prelu_config(false));
  LayerHarness h({Shape{5}}, 1);
  const Status s = h.setup(*layer);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'prelu1'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("at least 2 axes"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace banyan
