// Tests of the Reduction layer: top shapes (a scalar for axis 0), config
// errors naming the layer, every operation against a double reference with
// a coefficient, gradients (finite differences, ASUM's sign exactly) and
// overwriting.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::check_accumulates_twice;
using banyan::testing::check_gradients;
using banyan::testing::GradientCheckOptions;
using banyan::testing::LayerHarness;
using Op = ReductionConfig::Op;

LayerConfig make_reduction_config(Op op, int axis, float coeff) {
  LayerConfig c;
  c.name = "reduce1";
  c.type = "Reduction";
  c.reduction.operation = op;
  c.reduction.axis = axis;
  c.reduction.coeff = coeff;
  return c;
}

const Op kOps[] = {Op::kSum, Op::kAsum, Op::kSumSq, Op::kMean};

TEST(ReductionLayerTest, TopKeepsTheAxesBeforeAxis) {
  const Shape bottom{2, 3, 4};
  struct Case {
    int axis;
    Shape top;
  };
  for (const Case& c : {Case{0, Shape{}}, Case{1, Shape{2}}, Case{2, Shape{2, 3}},
                        Case{-1, Shape{2, 3}}, Case{-3, Shape{}}}) {
    auto layer = new_reduction_layer(make_reduction_config(Op::kSum, c.axis, 1.0f));
    LayerHarness h({bottom}, 1);
    ASSERT_TRUE(h.setup(*layer).ok());
    EXPECT_EQ(h.top()[0]->shape(), c.top) << "axis " << c.axis;
    EXPECT_EQ(h.top()[0]->count(), c.top.count());
  }
}

TEST(ReductionLayerTest, RejectsBadConfig) {
  for (int axis : {3, -4}) {
    auto layer = new_reduction_layer(make_reduction_config(Op::kMean, axis, 1.0f));
    LayerHarness h({Shape{2, 3, 4}}, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("'reduce1'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("axis " + std::to_string(axis) + " is out of range"),
              std::string::npos)
        << s.message();
  }
  auto layer = new_reduction_layer(make_reduction_config(Op::kSum, 0, 1.0f));
  LayerHarness h({Shape{2}, Shape{2}}, 1);
  EXPECT_FALSE(h.setup(*layer).ok());
}

double reference(Op op, const float* row, int64_t dim, double coeff) {
  double s = 0.0;
  for (int64_t i = 0; i < dim; ++i) {
    const double v = row[i];
    s += op == Op::kAsum ? std::fabs(v) : op == Op::kSumSq ? v * v : v;
  }
  if (op == Op::kMean) s /= static_cast<double>(dim);
  return coeff * s;
}

TEST(ReductionLayerTest, ForwardMatchesReference) {
  const Shape bottom{3, 4, 5};
  for (Op op : kOps) {
    for (int axis : {0, 1, 2, -1}) {
      const float coeff = -0.75f;
      auto layer = new_reduction_layer(make_reduction_config(op, axis, coeff));
      LayerHarness h({bottom}, 1, 3);
      ASSERT_TRUE(h.setup(*layer).ok());
      layer->forward(h.bottom(), h.top(), h.ctx());
      const int a = bottom.canonical_axis(axis);
      const int64_t num = bottom.count(0, a), dim = bottom.count(a);
      for (int64_t r = 0; r < num; ++r) {
        const double want = reference(op, h.bottom()[0]->data() + r * dim, dim, coeff);
        EXPECT_NEAR(h.top()[0]->data()[r], want, 1e-5 * std::max(1.0, std::fabs(want)))
            << "op " << static_cast<int>(op) << " axis " << axis << " row " << r;
      }
    }
  }
}

TEST(ReductionLayerTest, GradientsMatchFiniteDifferences) {
  for (Op op : kOps) {
    for (int axis : {0, 1, -1}) {
      auto layer = new_reduction_layer(make_reduction_config(op, axis, 1.5f));
      LayerHarness h({Shape{2, 3, 4}}, 1, 5);
      ASSERT_TRUE(h.setup(*layer).ok());
      GradientCheckOptions o;
      o.kink_range = op == Op::kAsum ? 0.02f : -1.0f;  // |x| at 0
      check_gradients(*layer, h, o);
    }
  }
}

TEST(ReductionLayerTest, AsumGradientIsTheSign) {
  auto layer = new_reduction_layer(make_reduction_config(Op::kAsum, 1, 2.0f));
  LayerHarness h({Shape{2, 3}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  const float x[] = {-1.5f, 0.0f, 2.0f, 3.0f, -0.25f, 0.0f};
  std::copy(x, x + 6, h.bottom()[0]->data());
  layer->forward(h.bottom(), h.top(), h.ctx());
  EXPECT_EQ(h.top()[0]->data()[0], 7.0f);
  EXPECT_EQ(h.top()[0]->data()[1], 6.5f);
  h.top()[0]->diff()[0] = 1.0f;
  h.top()[0]->diff()[1] = -3.0f;
  layer->backward(h.top(), {true}, h.bottom(), h.ctx());
  const float want[] = {-2.0f, 0.0f, 2.0f, -6.0f, 6.0f, 0.0f};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(h.bottom()[0]->diff()[i], want[i]) << i;
}

TEST(ReductionLayerTest, SecondBackwardOverwrites) {
  for (Op op : kOps) {
    auto layer = new_reduction_layer(make_reduction_config(op, 1, 0.5f));
    LayerHarness h({Shape{3, 4, 2}}, 1, 7);
    ASSERT_TRUE(h.setup(*layer).ok());
    check_accumulates_twice(*layer, h);
  }
}

}  // namespace
}  // namespace banyan
