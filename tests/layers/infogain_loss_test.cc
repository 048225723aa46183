// Tests of InfogainLoss: the value against a double reference (softmax of
// the scores, H from a third bottom) for every normalization and with
// ignored positions, the identity H against SoftmaxWithLoss, H read from a
// .binaryproto file, finite-difference gradients, the probability top, and
// the errors for a missing matrix, a wrong size and bad labels.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "data.pb.h"
#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::fill_uniform;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;
using Norm = LossConfig::Normalization;

LayerConfig infogain_config(Norm norm = Norm::kValid, int ignore = -1) {
  LayerConfig c;
  c.name = "loss";
  c.type = "InfogainLoss";
  c.loss.normalization = norm;
  if (ignore >= 0) c.loss.ignore_label = ignore;
  return c;
}

// Labels of the (outer, inner) positions; every third is `ignore` when >= 0.
void fill_labels(Blob* labels, int64_t classes, int ignore = -1) {
  for (int64_t i = 0; i < labels->count(); ++i) {
    labels->data()[i] = ignore >= 0 && i % 3 == 1 ? float(ignore) : float((i * 5 + 2) % classes);
  }
}

// Sum of the per-position losses and the number of non-ignored positions.
double reference(const Blob& x, const Blob& labels, const Blob& h, int64_t inner, int ignore,
                 double* valid) {
  const int64_t k = h.count() == 0 ? 0 : static_cast<int64_t>(std::lround(std::sqrt(h.count())));
  const int64_t outer = x.count() / (k * inner);
  double loss = 0.0;
  *valid = 0.0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t l = static_cast<int64_t>(labels.data()[o * inner + i]);
      if (l == ignore) continue;
      double m = -1e300, sum = 0.0;
      for (int64_t c = 0; c < k; ++c) m = std::max(m, double{x.data()[(o * k + c) * inner + i]});
      for (int64_t c = 0; c < k; ++c) sum += std::exp(x.data()[(o * k + c) * inner + i] - m);
      for (int64_t c = 0; c < k; ++c) {
        const double p = std::exp(x.data()[(o * k + c) * inner + i] - m) / sum;
        loss -= h.data()[l * k + c] * std::log(std::max(p, 1e-20));
      }
      *valid += 1.0;
    }
  }
  return loss;
}

TEST(InfogainLossTest, ValueForEachNormalizationWithMatrixBottom) {
  struct Mode {
    Norm norm;
    int ignore;
  };
  for (const Mode& m : {Mode{Norm::kValid, -1}, Mode{Norm::kValid, 0}, Mode{Norm::kFull, 0},
                        Mode{Norm::kBatchSize, -1}, Mode{Norm::kNone, -1}}) {
    SCOPED_TRACE("mode " + std::to_string(int(m.norm)) + " ignore " + std::to_string(m.ignore));
    auto layer = new_infogain_loss_layer(infogain_config(m.norm, m.ignore));
    // One top: the probability top is an output only (its diff is ignored),
    // so it stays out of the gradient check's objective.
    LayerHarness h({Shape{3, 4, 2, 3}, Shape{3, 1, 2, 3}, Shape{4, 4}}, 1, 11);
    ASSERT_TRUE(h.setup(*layer).ok());
    EXPECT_EQ(layer->default_loss_weight(0), 1.0f);
    EXPECT_EQ(layer->default_loss_weight(1), 0.0f);
    EXPECT_FALSE(layer->can_propagate_down(2));
    fill_labels(h.bottom()[1], 4, m.ignore);
    fill_uniform(h.bottom()[2]->data(), 16, 3, 0.0f, 2.0f);
    layer->forward(h.bottom(), h.top(), h.ctx());
    ASSERT_FALSE(h.ctx().has_error());
    double valid = 0.0;
    const double sum =
        reference(*h.bottom()[0], *h.bottom()[1], *h.bottom()[2], 6, m.ignore, &valid);
    const double norm = m.norm == Norm::kValid       ? valid
                        : m.norm == Norm::kFull      ? 18.0
                        : m.norm == Norm::kBatchSize ? 3.0
                                                     : 1.0;
    EXPECT_NEAR(h.top()[0]->data()[0], sum / norm, 1e-5 * sum / norm);
    if (m.ignore >= 0) EXPECT_LT(valid, 18.0);
    GradientCheckOptions o;
    o.step = 1e-3f;
    check_gradients(*layer, h, o, {true, false, false});
    check_accumulates_twice(*layer, h);
  }
}

TEST(InfogainLossTest, IdentityMatrixIsSoftmaxWithLoss) {
  LayerConfig sc;
  sc.name = "ref";
  sc.type = "SoftmaxWithLoss";
  auto ref = new_softmax_with_loss_layer(sc);
  auto layer = new_infogain_loss_layer(infogain_config());
  LayerHarness h({Shape{5, 6}, Shape{5}, Shape{6, 6}}, 2, 4);
  ASSERT_TRUE(h.setup(*layer).ok());
  fill_labels(h.bottom()[1], 6);
  for (int64_t i = 0; i < 36; ++i) h.bottom()[2]->data()[i] = i % 7 == 0 ? 1.0f : 0.0f;
  LayerHarness r({Shape{5, 6}, Shape{5}}, 2, 4);
  ASSERT_TRUE(r.setup(*ref).ok());
  std::copy(h.bottom()[0]->data(), h.bottom()[0]->data() + 30, r.bottom()[0]->data());
  fill_labels(r.bottom()[1], 6);
  layer->forward(h.bottom(), h.top(), h.ctx());
  ref->forward(r.bottom(), r.top(), r.ctx());
  EXPECT_NEAR(h.top()[0]->data()[0], r.top()[0]->data()[0], 1e-6);
  EXPECT_EQ(h.top()[1]->shape(), (Shape{5, 6}));
  for (int64_t i = 0; i < 30; ++i) EXPECT_EQ(h.top()[1]->data()[i], r.top()[1]->data()[i]) << i;
  h.top()[0]->diff()[0] = r.top()[0]->diff()[0] = 1.5f;
  layer->backward(h.top(), {true, false, false}, h.bottom(), h.ctx());
  ref->backward(r.top(), {true, false}, r.bottom(), r.ctx());
  for (int64_t i = 0; i < 30; ++i) {
    EXPECT_NEAR(h.bottom()[0]->diff()[i], r.bottom()[0]->diff()[i], 1e-6) << i;
  }
}

std::string write_matrix(const std::string& name, const std::vector<float>& values, bool legacy) {
  pb::BlobProto blob;
  const int k = static_cast<int>(std::lround(std::sqrt(values.size())));
  if (legacy) {
    blob.set_num(1);
    blob.set_channels(1);
    blob.set_height(k);
    blob.set_width(k);
  } else {
    blob.mutable_shape()->add_dim(k);
    blob.mutable_shape()->add_dim(k);
  }
  blob.mutable_data()->Add(values.begin(), values.end());
  const std::string path = ::testing::TempDir() + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  EXPECT_TRUE(blob.SerializeToOstream(&out));
  return path;
}

TEST(InfogainLossTest, MatrixFromBinaryprotoMatchesMatrixBottom) {
  std::vector<float> hm(9);
  fill_uniform(hm.data(), 9, 8, 0.0f, 1.0f);
  for (bool legacy : {false, true}) {
    LayerConfig c = infogain_config();
    c.infogain_loss.source = write_matrix("infogain.binaryproto", hm, legacy);
    auto layer = new_infogain_loss_layer(c);
    LayerHarness h({Shape{4, 3}, Shape{4}}, 1, 2);
    ASSERT_TRUE(h.setup(*layer).ok());
    fill_labels(h.bottom()[1], 3);
    auto with_bottom = new_infogain_loss_layer(infogain_config());
    LayerHarness b({Shape{4, 3}, Shape{4}, Shape{3, 3}}, 1, 2);
    ASSERT_TRUE(b.setup(*with_bottom).ok());
    fill_labels(b.bottom()[1], 3);
    std::copy(hm.begin(), hm.end(), b.bottom()[2]->data());
    layer->forward(h.bottom(), h.top(), h.ctx());
    with_bottom->forward(b.bottom(), b.top(), b.ctx());
    EXPECT_EQ(h.top()[0]->data()[0], b.top()[0]->data()[0]);
    GradientCheckOptions o;
    o.step = 1e-3f;
    check_gradients(*layer, h, o, {true, false});
    std::remove(c.infogain_loss.source.c_str());
  }
}

TEST(InfogainLossTest, SetupErrorsNameTheProblem) {
  struct Case {
    std::string source;
    std::vector<Shape> bottoms;
    StatusCode code;
    std::string expect;
  };
  const std::string wrong = write_matrix("wrong.binaryproto", std::vector<float>(4, 1.0f), false);
  const Case cases[] = {
      {"", {Shape{2, 3}, Shape{2}}, StatusCode::kInvalidArgument, "source"},
      {"/nonexistent/h.binaryproto", {Shape{2, 3}, Shape{2}}, StatusCode::kNotFound, "not found"},
      {wrong, {Shape{2, 3}, Shape{2}}, StatusCode::kDataLoss, "holds 4 values; expected 9"},
      {"", {Shape{2, 3}, Shape{2}, Shape{2, 3}}, StatusCode::kInvalidArgument, "expected 9"},
      {"", {Shape{2, 3}, Shape{3}, Shape{3, 3}}, StatusCode::kInvalidArgument, "expected 2"},
  };
  for (const Case& k : cases) {
    LayerConfig c = infogain_config();
    c.infogain_loss.source = k.source;
    auto layer = new_infogain_loss_layer(c);
    LayerHarness h(k.bottoms, 1);
    const Status s = h.setup(*layer);
    EXPECT_EQ(s.code(), k.code) << s.message();
    EXPECT_NE(s.message().find("'loss'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(k.expect), std::string::npos) << s.message();
  }
  std::remove(wrong.c_str());
}

TEST(InfogainLossTest, BadLabelIsReported) {
  auto layer = new_infogain_loss_layer(infogain_config());
  LayerHarness h({Shape{2, 3}, Shape{2}, Shape{3, 3}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  h.bottom()[1]->data()[0] = 0.0f;
  h.bottom()[1]->data()[1] = 1.5f;
  layer->forward(h.bottom(), h.top(), h.ctx());
  const Status e = h.ctx().take_error();
  EXPECT_NE(e.message().find("(InfogainLoss): label 1.5 of sample 1 is not a class id in [0, 3)"),
            std::string::npos)
      << e.message();
}

}  // namespace
}  // namespace banyan
