// Tests of the Eltwise layer: config and shape errors, SUM (coefficients),
// PROD and MAX forward against a double reference, gradients (MAX on
// well-separated values), tie-breaking, accumulation, partial propagation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::fill_gaussian;
using banyan::testing::fill_uniform;
using banyan::testing::LayerHarness;
using Op = EltwiseConfig::Op;

LayerConfig make_eltwise_config(Op op, std::vector<float> coeff = {}) {
  LayerConfig c;
  c.name = "merge";
  c.type = "Eltwise";
  c.eltwise.operation = op;
  c.eltwise.coeff = std::move(coeff);
  return c;
}

// Bottom k, element i gets a value from a per-element rotation of levels 0.3
// apart plus noise below 0.05, so all bottoms differ by more than 0.2.
void fill_separated(std::vector<Blob*>& bottom, uint64_t seed) {
  const int64_t k_count = static_cast<int64_t>(bottom.size());
  for (int64_t k = 0; k < k_count; ++k) {
    Blob* b = bottom[k];
    fill_uniform(b->data(), b->count(), seed + k, -0.05f, 0.05f);
    for (int64_t i = 0; i < b->count(); ++i) {
      b->data()[i] += 0.3f * static_cast<float>((k + i * (i % 2 ? 1 : 2)) % k_count) - 0.4f;
    }
  }
}

TEST(EltwiseLayerTest, RejectsBadConfigsAndShapes) {
  struct Case {
    LayerConfig config;
    std::vector<Shape> shapes;
    std::string expect;
  };
  const Case cases[] = {
      {make_eltwise_config(Op::kSum), {Shape{2, 3}}, "at least 2 bottom"},
      {make_eltwise_config(Op::kSum),
       {Shape{2, 3}, Shape{2, 3}, Shape{3, 2}},
       "bottom 2 'bottom2' has shape (3, 2)"},
      {make_eltwise_config(Op::kSum, {1.0f, 2.0f, 3.0f}),
       {Shape{2, 3}, Shape{2, 3}},
       "has 3 coeff"},
      {make_eltwise_config(Op::kProd, {1.0f, 2.0f}),
       {Shape{2, 3}, Shape{2, 3}},
       "only used with operation SUM"},
  };
  for (const Case& c : cases) {
    auto layer = new_eltwise_layer(c.config);
    LayerHarness h(c.shapes, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok()) << c.expect;
    EXPECT_NE(s.message().find("'merge'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
}

TEST(EltwiseLayerTest, ForwardMatchesReference) {
  const Shape shape{2, 3, 5};
  const std::vector<float> coeff{0.5f, -2.0f, 1.5f};
  for (Op op : {Op::kSum, Op::kProd, Op::kMax}) {
    auto layer =
        new_eltwise_layer(make_eltwise_config(op, op == Op::kSum ? coeff : std::vector<float>{}));
    LayerHarness h({shape, shape, shape}, 1, 3);
    ASSERT_TRUE(h.setup(*layer).ok());
    EXPECT_EQ(h.top()[0]->shape(), shape);
    layer->forward(h.bottom(), h.top(), h.ctx());
    for (int64_t i = 0; i < shape.count(); ++i) {
      const double a = h.bottom()[0]->data()[i], b = h.bottom()[1]->data()[i],
                   c = h.bottom()[2]->data()[i];
      double expect = 0.0;
      if (op == Op::kSum) expect = coeff[0] * a + coeff[1] * b + coeff[2] * c;
      if (op == Op::kProd) expect = a * b * c;
      if (op == Op::kMax) expect = std::max({a, b, c});
      EXPECT_NEAR(h.top()[0]->data()[i], expect, 1e-5 * std::max(1.0, std::fabs(expect)))
          << "op " << static_cast<int>(op) << " i " << i;
    }
  }
}

TEST(EltwiseLayerTest, GradientsMatchFiniteDifferences) {
  const Shape shape{2, 3, 3};
  {
    auto layer = new_eltwise_layer(make_eltwise_config(Op::kSum, {0.5f, -1.5f, 2.0f}));
    LayerHarness h({shape, shape, shape}, 1, 5);
    ASSERT_TRUE(h.setup(*layer).ok());
    check_gradients(*layer, h);
  }
  {
    auto layer = new_eltwise_layer(make_eltwise_config(Op::kSum));
    LayerHarness h({shape, shape}, 1, 6);
    ASSERT_TRUE(h.setup(*layer).ok());
    check_gradients(*layer, h);
  }
  {
    auto layer = new_eltwise_layer(make_eltwise_config(Op::kProd));
    LayerHarness h({shape, shape, shape}, 1, 7);
    ASSERT_TRUE(h.setup(*layer).ok());
    check_gradients(*layer, h);
  }
  {
    auto layer = new_eltwise_layer(make_eltwise_config(Op::kMax));
    LayerHarness h({shape, shape, shape}, 1, 8);
    ASSERT_TRUE(h.setup(*layer).ok());
    fill_separated(h.bottom(), 40);
    check_gradients(*layer, h);
  }
}

TEST(EltwiseLayerTest, MaxRoutesGradientToTheFirstWinner) {
  auto layer = new_eltwise_layer(make_eltwise_config(Op::kMax));
  LayerHarness h({Shape{4}, Shape{4}, Shape{4}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  const float a[4] = {1, 5, 2, 2}, b[4] = {3, 5, 2, 1}, c[4] = {3, 0, 2, 0};
  std::copy(a, a + 4, h.bottom()[0]->data());
  std::copy(b, b + 4, h.bottom()[1]->data());
  std::copy(c, c + 4, h.bottom()[2]->data());
  layer->forward(h.bottom(), h.top(), h.ctx());
  const float dy[4] = {10, 20, 30, 40};
  std::copy(dy, dy + 4, h.top()[0]->diff());
  layer->backward(h.top(), {true, true, true}, h.bottom(), h.ctx());
  // Winners: element 0 -> bottom 1 (tie with 2), 1 -> bottom 0 (tie with 1), 2 -> 0, 3 -> 0.
  const float expect[3][4] = {{0, 20, 30, 40}, {10, 0, 0, 0}, {0, 0, 0, 0}};
  for (int k = 0; k < 3; ++k) {
    for (int i = 0; i < 4; ++i) EXPECT_EQ(h.bottom()[k]->diff()[i], expect[k][i]) << k << "," << i;
  }
}

TEST(EltwiseLayerTest, BottomGradientsAreOverwritten) {
  const Shape shape{3, 4};
  for (Op op : {Op::kSum, Op::kProd, Op::kMax}) {
    auto layer = new_eltwise_layer(make_eltwise_config(op));
    LayerHarness h({shape, shape, shape}, 1);
    ASSERT_TRUE(h.setup(*layer).ok());
    check_accumulates_twice(*layer, h);
  }
}

TEST(EltwiseLayerTest, OnlyPropagatingBottomsReceiveGradients) {
  const Shape shape{2, 5};
  for (Op op : {Op::kSum, Op::kProd, Op::kMax}) {
    auto layer = new_eltwise_layer(make_eltwise_config(op));
    LayerHarness h({shape, shape}, 1, 12);
    ASSERT_TRUE(h.setup(*layer).ok());
    layer->forward(h.bottom(), h.top(), h.ctx());
    fill_gaussian(h.top()[0]->diff(), shape.count(), 1);
    for (Blob* b : h.bottom()) std::fill(b->diff(), b->diff() + b->count(), 9.0f);
    layer->backward(h.top(), {false, true}, h.bottom(), h.ctx());
    for (int i = 0; i < 10; ++i) EXPECT_EQ(h.bottom()[0]->diff()[i], 9.0f);
    int changed = 0;
    for (int i = 0; i < 10; ++i) changed += h.bottom()[1]->diff()[i] != 9.0f ? 1 : 0;
    EXPECT_GT(changed, 0);
  }
}

}  // namespace
}  // namespace banyan
