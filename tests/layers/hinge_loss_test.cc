// Tests of HingeLoss: L1 and L2 values against a double reference, finite-
// difference gradients (away from the hinge's kinks), the overwrite check,
// shape errors and labels that are no class id.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;

LayerConfig hinge_config(HingeLossConfig::Norm norm) {
  LayerConfig c;
  c.name = "loss";
  c.type = "HingeLoss";
  c.hinge_loss.norm = norm;
  return c;
}

void fill_labels(Blob* labels, int64_t classes) {
  for (int64_t i = 0; i < labels->count(); ++i) labels->data()[i] = float((i * 3 + 1) % classes);
}

double hinge_reference(const Blob& x, const Blob& labels, bool squared) {
  const int64_t n = x.shape().dim(0), k = x.count() / n;
  double loss = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      const double t = j == static_cast<int64_t>(labels.data()[i]) ? 1.0 : -1.0;
      const double m = std::max(0.0, 1.0 - t * x.data()[i * k + j]);
      loss += squared ? m * m : m;
    }
  }
  return loss / static_cast<double>(n);
}

TEST(HingeLossTest, ValueAndGradientsForBothNorms) {
  for (auto norm : {HingeLossConfig::Norm::kL1, HingeLossConfig::Norm::kL2}) {
    const bool squared = norm == HingeLossConfig::Norm::kL2;
    SCOPED_TRACE(squared ? "L2" : "L1");
    for (const Shape& scores : {Shape{5, 4}, Shape{3, 2, 2, 2}}) {
      auto layer = new_hinge_loss_layer(hinge_config(norm));
      LayerHarness h({scores, Shape{scores.dim(0)}}, 1, 3);
      ASSERT_TRUE(h.setup(*layer).ok());
      EXPECT_EQ(h.top()[0]->shape(), Shape{});
      EXPECT_EQ(layer->default_loss_weight(0), 1.0f);
      EXPECT_FALSE(layer->can_propagate_down(1));
      fill_labels(h.bottom()[1], scores.count() / scores.dim(0));
      Blob& x = *h.bottom()[0];
      for (int64_t i = 0; i < x.count(); ++i) x.data()[i] *= 0.5f;  // margins on both sides of 0
      layer->forward(h.bottom(), h.top(), h.ctx());
      ASSERT_FALSE(h.ctx().has_error());
      const double expect = hinge_reference(x, *h.bottom()[1], squared);
      EXPECT_NEAR(h.top()[0]->data()[0], expect, 1e-5 * std::max(1.0, expect));
      GradientCheckOptions o;
      o.step = 1e-3f;
      o.kink = 1.0f;  // the hinge bends where |x| = 1
      o.kink_range = 0.01f;
      check_gradients(*layer, h, o, {true, false});
      check_accumulates_twice(*layer, h);
    }
  }
}

TEST(HingeLossTest, RejectsLabelCountAndReportsBadLabels) {
  auto layer = new_hinge_loss_layer(hinge_config(HingeLossConfig::Norm::kL1));
  LayerHarness bad({Shape{4, 3}, Shape{3}}, 1);
  const Status s = bad.setup(*layer);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("expected 4, one per sample"), std::string::npos) << s.message();

  auto ok = new_hinge_loss_layer(hinge_config(HingeLossConfig::Norm::kL1));
  LayerHarness h({Shape{2, 4}, Shape{2, 1}}, 1);
  ASSERT_TRUE(h.setup(*ok).ok());
  h.bottom()[1]->data()[0] = 1.0f;
  for (float v : {4.0f, -1.0f, 2.5f}) {
    h.bottom()[1]->data()[1] = v;
    ok->forward(h.bottom(), h.top(), h.ctx());
    const Status e = h.ctx().take_error();
    EXPECT_EQ(e.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(e.message().find("layer 'loss' (HingeLoss): label " + format_value(v) +
                               " of sample 1 is not a class id in [0, 4)"),
              std::string::npos)
        << e.message();
  }
}

}  // namespace
}  // namespace banyan
