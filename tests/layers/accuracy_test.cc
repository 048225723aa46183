// Tests of the Accuracy layer: top-k against a sort-based reference, ties,
// ignore_label, per-class accuracy, other axes, config errors, no backward,
// and the CHECK on out-of-range labels.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::LayerHarness;

LayerConfig make_accuracy_config(int top_k, int axis = 1,
                                 std::optional<int> ignore = std::nullopt) {
  LayerConfig c;
  c.name = "acc";
  c.type = "Accuracy";
  c.accuracy.top_k = top_k;
  c.accuracy.axis = axis;
  c.accuracy.ignore_label = ignore;
  return c;
}

// Correct when the label's score reaches the k-th largest score.
bool reference_hit(std::vector<float> scores, int label, int k) {
  const float target = scores[label];
  std::sort(scores.begin(), scores.end(), std::greater<float>());
  return target >= scores[k - 1];
}

TEST(AccuracyLayerTest, ShapesAndErrors) {
  auto layer = new_accuracy_layer(make_accuracy_config(1));
  LayerHarness h({Shape{6, 5}, Shape{6}}, 2);
  ASSERT_TRUE(h.setup(*layer).ok());
  EXPECT_EQ(h.top()[0]->shape(), Shape{});
  EXPECT_EQ(h.top()[1]->shape(), Shape{5});
  EXPECT_FALSE(layer->can_propagate_down(0));
  EXPECT_FALSE(layer->can_propagate_down(1));

  struct Case {
    LayerConfig config;
    std::vector<Shape> shapes;
    std::string expect;
  };
  const Case cases[] = {
      {make_accuracy_config(0), {Shape{6, 5}, Shape{6}}, "top_k 0"},
      {make_accuracy_config(6), {Shape{6, 5}, Shape{6}}, "top_k 6 must lie in [1, 5]"},
      {make_accuracy_config(1), {Shape{6, 5}, Shape{5}}, "hold 5 values; expected 6"},
      {make_accuracy_config(1, 2), {Shape{6, 5}, Shape{6}}, "axis 2"},
  };
  for (const Case& c : cases) {
    auto bad = new_accuracy_layer(c.config);
    LayerHarness hb(c.shapes, 1);
    Status s = hb.setup(*bad);
    ASSERT_FALSE(s.ok()) << c.expect;
    EXPECT_NE(s.message().find("'acc'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
}

TEST(AccuracyLayerTest, TopKMatchesSortReference) {
  const int64_t n = 40, classes = 6;
  for (int k : {1, 2, 5}) {
    auto layer = new_accuracy_layer(make_accuracy_config(k));
    LayerHarness h({Shape{n, classes}, Shape{n}}, 1, 3);
    ASSERT_TRUE(h.setup(*layer).ok());
    const float* x = h.bottom()[0]->data();
    for (int64_t i = 0; i < n; ++i)
      h.bottom()[1]->data()[i] = static_cast<float>((i * 7) % classes);
    layer->forward(h.bottom(), h.top(), h.ctx());
    int hits = 0;
    for (int64_t i = 0; i < n; ++i) {
      std::vector<float> s(x + i * classes, x + (i + 1) * classes);
      hits += reference_hit(s, static_cast<int>(h.bottom()[1]->data()[i]), k) ? 1 : 0;
    }
    EXPECT_GT(hits, 0);
    EXPECT_FLOAT_EQ(h.top()[0]->data()[0], static_cast<float>(hits) / n) << "k " << k;
  }
}

TEST(AccuracyLayerTest, TiesCountForTheLabel) {
  // Four samples of four classes, written out by hand.
  const float scores[4][4] = {
      {1, 1, 1, 0},  // label 2: nobody strictly greater -> top-1 hit
      {1, 1, 1, 0},  // label 3: three strictly greater -> miss for k = 1, 2, 3
      {2, 1, 1, 0},  // label 2: one strictly greater -> hit for k = 2 only
      {0, 3, 3, 3},  // label 0: three strictly greater -> miss
  };
  const float labels[4] = {2, 3, 2, 0};
  const float expect_top1 = 1.0f / 4, expect_top2 = 2.0f / 4;
  for (int k : {1, 2}) {
    auto layer = new_accuracy_layer(make_accuracy_config(k));
    LayerHarness h({Shape{4, 4}, Shape{4}}, 1);
    ASSERT_TRUE(h.setup(*layer).ok());
    std::copy(&scores[0][0], &scores[0][0] + 16, h.bottom()[0]->data());
    std::copy(labels, labels + 4, h.bottom()[1]->data());
    layer->forward(h.bottom(), h.top(), h.ctx());
    EXPECT_FLOAT_EQ(h.top()[0]->data()[0], k == 1 ? expect_top1 : expect_top2) << "k " << k;
  }
}

TEST(AccuracyLayerTest, IgnoreLabelAndPerClass) {
  // Scores (5, 3); labels 0, 1, 9 (ignored), 1, 2; predictions 0, 2, -, 1, 0.
  const float scores[5][3] = {{3, 1, 2}, {0, 1, 2}, {5, 4, 3}, {0, 2, 1}, {2, 1, 0}};
  const float labels[5] = {0, 1, 9, 1, 2};
  auto layer = new_accuracy_layer(make_accuracy_config(1, 1, 9));
  LayerHarness h({Shape{5, 3}, Shape{5}}, 2);
  ASSERT_TRUE(h.setup(*layer).ok());
  std::copy(&scores[0][0], &scores[0][0] + 15, h.bottom()[0]->data());
  std::copy(labels, labels + 5, h.bottom()[1]->data());
  layer->forward(h.bottom(), h.top(), h.ctx());
  EXPECT_FLOAT_EQ(h.top()[0]->data()[0], 2.0f / 4);
  EXPECT_FLOAT_EQ(h.top()[1]->data()[0], 1.0f);  // 1 of 1
  EXPECT_FLOAT_EQ(h.top()[1]->data()[1], 0.5f);  // 1 of 2
  EXPECT_FLOAT_EQ(h.top()[1]->data()[2], 0.0f);  // 0 of 1

  // Everything ignored: accuracy 0, not NaN.
  for (int i = 0; i < 5; ++i) h.bottom()[1]->data()[i] = 9.0f;
  layer->forward(h.bottom(), h.top(), h.ctx());
  EXPECT_EQ(h.top()[0]->data()[0], 0.0f);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(h.top()[1]->data()[c], 0.0f);
}

TEST(AccuracyLayerTest, ClassesOnAnotherAxis) {
  // Scores (N, H, C) = (2, 3, 4) with classes on axis 2 (-1); labels (N, H).
  const int64_t n = 2, hh = 3, classes = 4;
  auto layer = new_accuracy_layer(make_accuracy_config(2, -1));
  LayerHarness h({Shape{n, hh, classes}, Shape{n, hh}}, 1, 8);
  ASSERT_TRUE(h.setup(*layer).ok());
  for (int64_t i = 0; i < n * hh; ++i) h.bottom()[1]->data()[i] = static_cast<float>(i % classes);
  layer->forward(h.bottom(), h.top(), h.ctx());
  const float* x = h.bottom()[0]->data();
  int hits = 0;
  for (int64_t i = 0; i < n * hh; ++i) {
    std::vector<float> s(x + i * classes, x + (i + 1) * classes);
    hits += reference_hit(s, static_cast<int>(i % classes), 2) ? 1 : 0;
  }
  EXPECT_FLOAT_EQ(h.top()[0]->data()[0], static_cast<float>(hits) / (n * hh));

  // Classes on axis 1 of (N, C, H): labels (N, H), strided scores.
  auto mid = new_accuracy_layer(make_accuracy_config(1, 1));
  LayerHarness hm({Shape{n, classes, hh}, Shape{n, hh}}, 1, 9);
  ASSERT_TRUE(hm.setup(*mid).ok());
  for (int64_t i = 0; i < n * hh; ++i)
    hm.bottom()[1]->data()[i] = static_cast<float>((i + 1) % classes);
  mid->forward(hm.bottom(), hm.top(), hm.ctx());
  const float* xm = hm.bottom()[0]->data();
  hits = 0;
  for (int64_t a = 0; a < n; ++a) {
    for (int64_t p = 0; p < hh; ++p) {
      std::vector<float> s;
      for (int64_t c = 0; c < classes; ++c) s.push_back(xm[(a * classes + c) * hh + p]);
      hits += reference_hit(s, static_cast<int>((a * hh + p + 1) % classes), 1) ? 1 : 0;
    }
  }
  EXPECT_FLOAT_EQ(hm.top()[0]->data()[0], static_cast<float>(hits) / (n * hh));
}

TEST(AccuracyLayerTest, BackwardTouchesNothing) {
  auto layer = new_accuracy_layer(make_accuracy_config(1));
  LayerHarness h({Shape{3, 4}, Shape{3}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  for (int i = 0; i < 3; ++i) h.bottom()[1]->data()[i] = static_cast<float>(i);
  layer->forward(h.bottom(), h.top(), h.ctx());
  for (Blob* b : h.bottom()) std::fill(b->diff(), b->diff() + b->count(), 3.0f);
  layer->backward(h.top(), {true, true}, h.bottom(), h.ctx());
  for (Blob* b : h.bottom()) {
    for (int64_t i = 0; i < b->count(); ++i) EXPECT_EQ(b->diff()[i], 3.0f);
  }
}

TEST(AccuracyLayerTest, LabelOutOfRangeIsReportedNamingLayerAndValue) {
  auto layer = new_accuracy_layer(make_accuracy_config(1));
  LayerHarness h({Shape{2, 4}, Shape{2}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  h.bottom()[1]->data()[0] = 4.0f;
  h.bottom()[1]->data()[1] = 0.0f;
  layer->forward(h.bottom(), h.top(), h.ctx());
  const Status s = h.ctx().take_error();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("layer 'acc' (Accuracy): label 4 of sample 0 is not a class id"),
            std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace banyan
