// Tests of the ArgMax layer: Caffe's top shapes with and without axis and
// out_max_val, config errors naming the layer, forward against a stable
// sort of each row (ties to the lower index), NaN handling, and that no
// gradient flows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::LayerHarness;

LayerConfig make_argmax_config(int top_k, bool out_max_val, std::optional<int> axis) {
  LayerConfig c;
  c.name = "argmax1";
  c.type = "ArgMax";
  c.argmax.top_k = top_k;
  c.argmax.out_max_val = out_max_val;
  c.argmax.axis = axis;
  return c;
}

TEST(ArgMaxLayerTest, TopShapesAreCaffes) {
  struct Case {
    int top_k;
    bool out_max_val;
    std::optional<int> axis;
    Shape bottom, top;
  };
  const Case cases[] = {
      {1, false, std::nullopt, Shape{2, 3, 4, 5}, Shape{2, 1, 1, 1}},
      {3, true, std::nullopt, Shape{2, 3, 4, 5}, Shape{2, 2, 3, 1}},
      {2, false, std::nullopt, Shape{5, 10}, Shape{5, 1, 2}},
      {2, true, std::nullopt, Shape{5, 10}, Shape{5, 2, 2}},
      {1, false, std::nullopt, Shape{4}, Shape{4, 1, 1}},
      {2, false, 1, Shape{2, 3, 4, 5}, Shape{2, 2, 4, 5}},
      {3, true, -1, Shape{2, 3, 4, 5}, Shape{2, 3, 4, 3}},
      {1, false, 0, Shape{6, 2}, Shape{1, 2}},
  };
  for (const Case& c : cases) {
    auto layer = new_argmax_layer(make_argmax_config(c.top_k, c.out_max_val, c.axis));
    LayerHarness h({c.bottom}, 1);
    Status s = h.setup(*layer);
    ASSERT_TRUE(s.ok()) << s.to_string();
    EXPECT_EQ(h.top()[0]->shape(), c.top) << c.bottom.to_string() << " top_k " << c.top_k;
    EXPECT_FALSE(layer->can_propagate_down(0));
    EXPECT_EQ(layer->top_dtype(0, h.bottom(), DType::kBFloat16), DType::kFloat32);
  }
}

TEST(ArgMaxLayerTest, RejectsBadConfig) {
  struct Case {
    int top_k;
    std::optional<int> axis;
    std::string expect;
  };
  const Case cases[] = {
      {13, std::nullopt, "top_k 13 exceeds the 12 entries per row"},
      {4, 1, "top_k 4 exceeds the 3 entries per row"},
      {0, std::nullopt, "top_k must be >= 1, got 0"},
      {1, 3, "axis 3 is out of range"},
      {1, -4, "axis -4 is out of range"},
  };
  for (const Case& c : cases) {
    auto layer = new_argmax_layer(make_argmax_config(c.top_k, false, c.axis));
    LayerHarness h({Shape{2, 3, 4}}, 1);
    Status s = h.setup(*layer);
    ASSERT_FALSE(s.ok()) << c.expect;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("'argmax1'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
}

// The reference: the row's indices stably sorted by decreasing value.
std::vector<int64_t> ranked(const std::vector<float>& row) {
  std::vector<int64_t> idx(row.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return row[a] > row[b]; });
  return idx;
}

TEST(ArgMaxLayerTest, PerSampleMatchesReference) {
  const Shape bottom{3, 2, 3, 4};  // 24 entries per sample
  for (bool out_max_val : {false, true}) {
    for (int top_k : {1, 5, 24}) {
      auto layer = new_argmax_layer(make_argmax_config(top_k, out_max_val, std::nullopt));
      LayerHarness h({bottom}, 1, 3);
      ASSERT_TRUE(h.setup(*layer).ok());
      layer->forward(h.bottom(), h.top(), h.ctx());
      const float* x = h.bottom()[0]->data();
      const float* y = h.top()[0]->data();
      for (int64_t n = 0; n < 3; ++n) {
        std::vector<float> row(x + n * 24, x + (n + 1) * 24);
        const std::vector<int64_t> r = ranked(row);
        for (int k = 0; k < top_k; ++k) {
          if (out_max_val) {
            ASSERT_EQ(y[(n * 2 + 0) * top_k + k], static_cast<float>(r[k])) << n << "," << k;
            ASSERT_EQ(y[(n * 2 + 1) * top_k + k], row[r[k]]) << n << "," << k;
          } else {
            ASSERT_EQ(y[n * top_k + k], static_cast<float>(r[k])) << n << "," << k;
          }
        }
      }
    }
  }
}

TEST(ArgMaxLayerTest, AlongAxisMatchesReference) {
  const Shape bottom{2, 5, 3, 2};
  for (bool out_max_val : {false, true}) {
    for (int axis : {1, -3, 3}) {
      const int a = bottom.canonical_axis(axis);
      const int top_k = a == 3 ? 2 : 3;
      auto layer = new_argmax_layer(make_argmax_config(top_k, out_max_val, axis));
      LayerHarness h({bottom}, 1, 4);
      ASSERT_TRUE(h.setup(*layer).ok());
      layer->forward(h.bottom(), h.top(), h.ctx());
      const int64_t outer = bottom.count(0, a), dim = bottom.dim(a), inner = bottom.count(a + 1);
      const float* x = h.bottom()[0]->data();
      const float* y = h.top()[0]->data();
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          std::vector<float> row;
          for (int64_t j = 0; j < dim; ++j) row.push_back(x[(o * dim + j) * inner + i]);
          const std::vector<int64_t> r = ranked(row);
          for (int k = 0; k < top_k; ++k) {
            const float want = out_max_val ? row[r[k]] : static_cast<float>(r[k]);
            ASSERT_EQ(y[(o * top_k + k) * inner + i], want) << "axis " << axis;
          }
        }
      }
    }
  }
}

TEST(ArgMaxLayerTest, TiesGoToTheLowerIndexAndNanRanksFirst) {
  auto layer = new_argmax_layer(make_argmax_config(4, true, std::nullopt));
  LayerHarness h({Shape{2, 6}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  const float nan = std::nanf("");
  const float x[] = {1, 3, 3, 2, 3, -1, /* */ 0, nan, 5, nan, 5, 5};
  std::copy(x, x + 12, h.bottom()[0]->data());
  layer->forward(h.bottom(), h.top(), h.ctx());
  const float* y = h.top()[0]->data();  // (2, 2, 4)
  const float idx0[] = {1, 2, 4, 3}, val0[] = {3, 3, 3, 2};
  const float idx1[] = {7 - 6, 9 - 6, 8 - 6, 10 - 6};
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(y[k], idx0[k]) << k;
    EXPECT_EQ(y[4 + k], val0[k]) << k;
    EXPECT_EQ(y[8 + k], idx1[k]) << k;
  }
  EXPECT_TRUE(std::isnan(y[12]) && std::isnan(y[13]));
  EXPECT_EQ(y[14], 5.0f);
  EXPECT_EQ(y[15], 5.0f);
}

TEST(ArgMaxLayerTest, BackwardTouchesNothing) {
  auto layer = new_argmax_layer(make_argmax_config(2, false, 1));
  LayerHarness h({Shape{2, 4, 3}}, 1);
  ASSERT_TRUE(h.setup(*layer).ok());
  layer->forward(h.bottom(), h.top(), h.ctx());
  Blob* b = h.bottom()[0];
  std::fill(b->diff(), b->diff() + b->count(), 9.0f);
  layer->backward(h.top(), {false}, h.bottom(), h.ctx());
  for (int64_t i = 0; i < b->count(); ++i) EXPECT_EQ(b->diff()[i], 9.0f);
}

}  // namespace
}  // namespace banyan
