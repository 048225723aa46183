// Tests of ContrastiveLoss: values against a double reference for both
// margin forms (similar and dissimilar pairs, active and inactive hinges),
// finite-difference gradients for both feature bottoms, the overwrite
// check, and shape errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;

LayerConfig contrastive_config(float margin, bool legacy) {
  LayerConfig c;
  c.name = "loss";
  c.type = "ContrastiveLoss";
  c.contrastive_loss.margin = margin;
  c.contrastive_loss.legacy_version = legacy;
  return c;
}

double reference(const Blob& a, const Blob& b, const Blob& y, float margin, bool legacy,
                 int* active) {
  const int64_t n = a.shape().dim(0), c = a.count() / n;
  double loss = 0.0;
  *active = 0;
  for (int64_t i = 0; i < n; ++i) {
    double sq = 0.0;
    for (int64_t j = 0; j < c; ++j) {
      const double d = double{a.data()[i * c + j]} - b.data()[i * c + j];
      sq += d * d;
    }
    if (y.data()[i] != 0.0f) {
      loss += sq;
      continue;
    }
    const double h = legacy ? margin - sq : margin - std::sqrt(sq);
    if (h > 0) ++*active;
    loss += legacy ? std::max(h, 0.0) : std::max(h, 0.0) * std::max(h, 0.0);
  }
  return loss / (2.0 * n);
}

TEST(ContrastiveLossTest, ValueAndGradientsForBothForms) {
  struct Case {
    float margin;
    bool legacy;
    Shape features, labels;
  };
  for (const Case& k : {Case{2.0f, false, Shape{8, 3}, Shape{8}},
                        Case{2.5f, false, Shape{8, 3, 1, 1}, Shape{8, 1, 1, 1}},
                        Case{6.0f, true, Shape{8, 3}, Shape{8}}}) {
    SCOPED_TRACE(std::string(k.legacy ? "legacy " : "") + k.features.to_string());
    auto layer = new_contrastive_loss_layer(contrastive_config(k.margin, k.legacy));
    LayerHarness h({k.features, k.features, k.labels}, 1, 6);
    ASSERT_TRUE(h.setup(*layer).ok());
    EXPECT_EQ(layer->default_loss_weight(0), 1.0f);
    EXPECT_FALSE(layer->can_propagate_down(2));
    for (int64_t i = 0; i < 8; ++i) h.bottom()[2]->data()[i] = i % 3 == 0 ? 1.0f : 0.0f;
    layer->forward(h.bottom(), h.top(), h.ctx());
    int active = 0;
    const double expect =
        reference(*h.bottom()[0], *h.bottom()[1], *h.bottom()[2], k.margin, k.legacy, &active);
    EXPECT_NEAR(h.top()[0]->data()[0], expect, 1e-5 * std::max(expect, 1.0));
    EXPECT_GT(active, 0);  // some dissimilar pairs inside the margin
    EXPECT_LT(active, 5);  // and some outside
    GradientCheckOptions o;
    o.step = 1e-3f;
    check_gradients(*layer, h, o, {true, true, false});
    check_accumulates_twice(*layer, h);
  }
}

TEST(ContrastiveLossTest, RejectsMismatchedShapes) {
  struct Case {
    Shape a, b, y;
    std::string expect;
  };
  for (const Case& k : {Case{Shape{4, 3}, Shape{4, 2}, Shape{4}, "same shape"},
                        Case{Shape{4, 3, 2}, Shape{4, 3, 2}, Shape{4}, "same shape"},
                        Case{Shape{4, 3}, Shape{4, 3}, Shape{3}, "one per pair"}}) {
    auto layer = new_contrastive_loss_layer(contrastive_config(1.0f, false));
    LayerHarness h({k.a, k.b, k.y}, 1);
    const Status s = h.setup(*layer);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(k.expect), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace banyan
