// Tests of MultinomialLogisticLoss: the value against a double reference,
// the 1e-20 clamp, finite-difference gradients, the overwrite check, shape
// errors and labels that are no class id.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::fill_uniform;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;

LayerConfig mll_config() {
  LayerConfig c;
  c.name = "loss";
  c.type = "MultinomialLogisticLoss";
  return c;
}

TEST(MultinomialLogisticLossTest, ValueGradientsAndClamp) {
  auto layer = new_multinomial_logistic_loss_layer(mll_config());
  LayerHarness h({Shape{6, 5, 1, 1}, Shape{6}}, 1, 7);
  ASSERT_TRUE(h.setup(*layer).ok());
  EXPECT_EQ(layer->default_loss_weight(0), 1.0f);
  Blob& p = *h.bottom()[0];
  fill_uniform(p.data(), p.count(), 5, 0.1f, 1.0f);
  for (int64_t n = 0; n < 6; ++n) h.bottom()[1]->data()[n] = float((n * 2) % 5);
  layer->forward(h.bottom(), h.top(), h.ctx());
  double expect = 0.0;
  for (int64_t n = 0; n < 6; ++n) expect -= std::log(double{p.data()[n * 5 + (n * 2) % 5]});
  expect /= 6.0;
  EXPECT_NEAR(h.top()[0]->data()[0], expect, 1e-5 * expect);
  GradientCheckOptions o;
  o.step = 1e-3f;
  check_gradients(*layer, h, o, {true, false});
  check_accumulates_twice(*layer, h);

  // A zero probability is clamped to 1e-20, in the loss and the gradient.
  p.data()[0] = 0.0f;  // sample 0, label 0
  layer->forward(h.bottom(), h.top(), h.ctx());
  double with_zero = -std::log(1e-20);
  for (int64_t n = 1; n < 6; ++n) with_zero -= std::log(double{p.data()[n * 5 + (n * 2) % 5]});
  EXPECT_NEAR(h.top()[0]->data()[0], with_zero / 6.0, 1e-5 * with_zero / 6.0);
  h.top()[0]->diff()[0] = 1.0f;
  layer->backward(h.top(), {true, false}, h.bottom(), h.ctx());
  EXPECT_FLOAT_EQ(p.diff()[0], -1.0f / 6.0f / 1e-20f);
  EXPECT_EQ(p.diff()[1], 0.0f);
}

TEST(MultinomialLogisticLossTest, RejectsLabelCountAndReportsBadLabels) {
  auto layer = new_multinomial_logistic_loss_layer(mll_config());
  LayerHarness bad({Shape{4, 3}, Shape{4, 2}}, 1);
  const Status s = bad.setup(*layer);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("expected 4, one per sample"), std::string::npos) << s.message();

  auto ok = new_multinomial_logistic_loss_layer(mll_config());
  LayerHarness h({Shape{2, 3}, Shape{2}}, 1);
  ASSERT_TRUE(h.setup(*ok).ok());
  h.bottom()[1]->data()[0] = 3.0f;
  ok->forward(h.bottom(), h.top(), h.ctx());
  const Status e = h.ctx().take_error();
  EXPECT_NE(e.message().find("(MultinomialLogisticLoss): label 3 of sample 0 is not a class id "
                             "in [0, 3)"),
            std::string::npos)
      << e.message();
}

}  // namespace
}  // namespace banyan
