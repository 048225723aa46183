// Tests of MVN: forward against a double reference for each mode (per
// channel or across channels, with or without the variance; eps added to the
// deviation as in Caffe), finite-difference gradients, and in-place refusal.
#include <gtest/gtest.h>

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

LayerConfig mvn_config(bool variance, bool across, float eps) {
  LayerConfig c;
  c.name = "mvn1";
  c.type = "MVN";
  c.mvn.normalize_variance = variance;
  c.mvn.across_channels = across;
  c.mvn.eps = eps;
  return c;
}

TEST(MvnLayerTest, ForwardMatchesReferenceInEachMode) {
  const Shape shape{2, 3, 4, 5};
  for (bool variance : {true, false}) {
    for (bool across : {false, true}) {
      for (float eps : {1e-9f, 0.5f}) {
        SCOPED_TRACE(std::string(variance ? "variance" : "mean only") +
                     (across ? " across" : " per channel") + " eps " + std::to_string(eps));
        auto layer = new_mvn_layer(mvn_config(variance, across, eps));
        LayerHarness h({shape}, 1, 12);
        ASSERT_TRUE(h.setup(*layer).ok());
        Blob& x = *h.bottom()[0];
        for (int64_t k = 0; k < x.count(); ++k) x.data()[k] = 3.0f * x.data()[k] + 1.0f;
        layer->forward(h.bottom(), h.top(), h.ctx());
        const int64_t rows = across ? 2 : 6, dim = 120 / rows;
        for (int64_t r = 0; r < rows; ++r) {
          double mean = 0.0, var = 0.0;
          for (int64_t i = 0; i < dim; ++i) mean += x.data()[r * dim + i];
          mean /= dim;
          for (int64_t i = 0; i < dim; ++i) var += std::pow(x.data()[r * dim + i] - mean, 2);
          var /= dim;
          const double div = variance ? std::sqrt(var) + eps : 1.0;
          for (int64_t i = 0; i < dim; ++i) {
            const double expect = (x.data()[r * dim + i] - mean) / div;
            EXPECT_NEAR(h.top()[0]->data()[r * dim + i], expect,
                        1e-5 * std::max(1.0, std::fabs(expect)));
          }
        }
        // Caffe's backward uses y = (x - mean) / (sd + eps) where the exact
        // gradient has (x - mean) / sd: the same only for a negligible eps.
        if (eps > 1e-6f) continue;
        GradientCheckOptions o;
        o.step = 1e-2f;
        check_gradients(*layer, h, o);
        check_accumulates_twice(*layer, h);
      }
    }
  }
}

TEST(MvnLayerTest, RefusesInPlace) {
  auto layer = new_mvn_layer(mvn_config(true, false, 1e-9f));
  Blob x("x");
  x.set_shape(Shape{2, 3, 4});
  const Status s = layer->setup({&x}, {&x});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("in place"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace banyan
