// Crop, Slice, Reshape, Tile, Silence, Reduction and ArgMax as Caffe writes
// them: the loader's reading of their *_param messages and its errors for
// values they cannot use, and one net through Net::create with all seven
// (Silence with no tops, ArgMax beside the loss) run forward and backward.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "engine/config/loader.h"
#include "engine/core/context.h"
#include "engine/net.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

// Shapes: data (2, 3, 8, 8) -> scaled -> crop (2, 3, 5, 5) at (1, 2) ->
// s1 (2, 1, 5, 5) silenced, s2 (2, 2, 5, 5) -> r (2, 50) -> t (2, 100)
// -> loss (2); am (2, 2, 2) from r.
constexpr const char* kShapeNet = R"(name: "shapes"
layer { name: "data" type: "Input" top: "data" top: "ref"
  input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } shape { dim: 2 dim: 3 dim: 5 dim: 5 } } }
layer { name: "scale" type: "Scale" bottom: "data" top: "scaled" }
layer { name: "crop" type: "Crop" bottom: "scaled" bottom: "ref" top: "crop"
  crop_param { axis: 2 offset: 1 offset: 2 } }
layer { name: "slice" type: "Slice" bottom: "crop" top: "s1" top: "s2"
  slice_param { axis: 1 slice_point: 1 } }
layer { name: "silence" type: "Silence" bottom: "s1" }
layer { name: "reshape" type: "Reshape" bottom: "s2" top: "r"
  reshape_param { shape { dim: 0 dim: -1 } } }
layer { name: "tile" type: "Tile" bottom: "r" top: "t" tile_param { axis: 1 tiles: 2 } }
layer { name: "sum" type: "Reduction" bottom: "t" top: "loss" loss_weight: 1
  reduction_param { operation: SUMSQ axis: 1 coeff: 0.5 } }
layer { name: "am" type: "ArgMax" bottom: "r" top: "am" argmax_param { out_max_val: true top_k: 2 } }
)";

TEST(ShapeLayerParamsTest, LoaderReadsCaffeParameters) {
  NetConfig net;
  Status s = parse_net_config(kShapeNet, "shapes.prototxt", &net);
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(net.layers.size(), 9u);
  EXPECT_EQ(net.layers[2].crop.axis, 2);
  EXPECT_EQ(net.layers[2].crop.offset, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(net.layers[3].slice.axis, 1);
  EXPECT_EQ(net.layers[3].slice.slice_point, (std::vector<int64_t>{1}));
  EXPECT_TRUE(net.layers[4].top.empty());
  EXPECT_EQ(net.layers[5].reshape.shape, (std::vector<int64_t>{0, -1}));
  EXPECT_EQ(net.layers[5].reshape.axis, 0);
  EXPECT_EQ(net.layers[5].reshape.num_axes, -1);
  EXPECT_EQ(net.layers[6].tile.tiles, 2);
  EXPECT_EQ(net.layers[7].reduction.operation, ReductionConfig::Op::kSumSq);
  EXPECT_EQ(net.layers[7].reduction.axis, 1);
  EXPECT_EQ(net.layers[7].reduction.coeff, 0.5f);
  EXPECT_TRUE(net.layers[8].argmax.out_max_val);
  EXPECT_EQ(net.layers[8].argmax.top_k, 2);
  EXPECT_FALSE(net.layers[8].argmax.axis.has_value());

  // Defaults, legacy slice_dim, the other forms.
  s = parse_net_config(R"(
layer { name: "c" type: "Crop" bottom: "x" bottom: "y" top: "c" }
layer { name: "s" type: "Slice" bottom: "x" top: "a" top: "b" slice_param { slice_dim: 2 } }
layer { name: "s2" type: "Slice" bottom: "x" top: "a2" top: "b2" }
layer { name: "r" type: "Reshape" bottom: "x" top: "r"
  reshape_param { shape { dim: 4 } axis: -2 num_axes: 1 } }
layer { name: "t" type: "Tile" bottom: "x" top: "t" tile_param { tiles: 3 } }
layer { name: "m" type: "Reduction" bottom: "x" top: "m" reduction_param { operation: MEAN } }
layer { name: "q" type: "Reduction" bottom: "x" top: "q" reduction_param { operation: ASUM axis: -1 } }
layer { name: "am" type: "ArgMax" bottom: "x" top: "am" argmax_param { axis: -1 } }
)",
                       "forms.prototxt", &net);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(net.layers[0].crop.axis, 2);
  EXPECT_TRUE(net.layers[0].crop.offset.empty());
  EXPECT_EQ(net.layers[1].slice.axis, 2);
  EXPECT_EQ(net.layers[2].slice.axis, 1);
  EXPECT_TRUE(net.layers[2].slice.slice_point.empty());
  EXPECT_EQ(net.layers[3].reshape.axis, -2);
  EXPECT_EQ(net.layers[3].reshape.num_axes, 1);
  EXPECT_EQ(net.layers[4].tile.axis, 1);
  EXPECT_EQ(net.layers[5].reduction.operation, ReductionConfig::Op::kMean);
  EXPECT_EQ(net.layers[5].reduction.axis, 0);
  EXPECT_EQ(net.layers[5].reduction.coeff, 1.0f);
  EXPECT_EQ(net.layers[6].reduction.operation, ReductionConfig::Op::kAsum);
  EXPECT_EQ(net.layers[6].reduction.axis, -1);
  EXPECT_EQ(net.layers[7].argmax.axis, -1);
  EXPECT_EQ(net.layers[7].argmax.top_k, 1);
  EXPECT_FALSE(net.layers[7].argmax.out_max_val);
}

TEST(ShapeLayerParamsTest, LoaderRefusesBadValues) {
  const std::pair<const char*, const char*> bad[] = {
      {"type: 'Crop' crop_param { offset: 1 offset: -2 }", "crop_param.offset"},
      {"type: 'Slice' slice_param { slice_point: 3 slice_point: 2 }", "must be > the previous"},
      {"type: 'Slice' slice_param { slice_point: 0 }", "slice_param.slice_point"},
      {"type: 'Slice' slice_param { axis: 1 slice_dim: 1 }", "and axis are both given"},
      {"type: 'Slice' slice_param { slice_dim: -1 }", "slice_param.slice_dim"},
      {"type: 'Reshape' reshape_param { shape { dim: -1 dim: 2 dim: -1 } }", "-1 is given twice"},
      {"type: 'Reshape' reshape_param { shape { dim: -2 } }", "reshape_param.shape.dim"},
      {"type: 'Reshape' reshape_param { num_axes: -3 }", "reshape_param.num_axes"},
      {"type: 'Tile' tile_param { axis: 1 }", "tile_param.tiles"},
      {"type: 'Tile' tile_param { tiles: 0 }", "must be > 0, got 0"},
      {"type: 'Tile'", "is required"},
      {"type: 'Reduction' reduction_param { coeff: inf }", "reduction_param.coeff"},
      {"type: 'ArgMax' argmax_param { top_k: 0 }", "argmax_param.top_k"},
  };
  for (const auto& [param, message] : bad) {
    NetConfig net;
    Status s =
        parse_net_config(std::string("layer { name: 'q' bottom: 'x' top: 'y' ") + param + " }",
                         "bad.prototxt", &net);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << param;
    EXPECT_NE(s.message().find(message), std::string::npos) << param << ": " << s.message();
    EXPECT_NE(s.message().find("bad.prototxt:1"), std::string::npos) << s.message();
  }
}

// The loss: 0.5 * sum(t^2) with t two copies of s2, so sum(s2^2) = sum over
// the crop window of channels 1 and 2 of (gamma_c x)^2; gamma starts at 1.
TEST(ShapeLayerParamsTest, NetWithSilenceAndArgMaxRunsForwardAndBackward) {
  NetConfig config;
  ASSERT_TRUE(parse_net_config(kShapeNet, "shapes.prototxt", &config).ok());
  WorkerContext ctx(Device::cpu(), 1);
  ASSERT_TRUE(ctx.init_device().ok());
  std::unique_ptr<Net> net;
  Status s = Net::create(config, {}, &ctx, &net);
  ASSERT_TRUE(s.ok()) << s.to_string();

  Blob* data = net->blob("data");
  ASSERT_NE(data, nullptr);
  banyan::testing::fill_gaussian(data->data(), data->count(), 3);
  const float loss = net->forward();
  double sumsq[3] = {0, 0, 0};
  for (int n = 0; n < 2; ++n) {
    for (int c = 0; c < 3; ++c) {
      for (int h = 1; h < 6; ++h) {
        for (int w = 2; w < 7; ++w) {
          const double v = data->data()[((n * 3 + c) * 8 + h) * 8 + w];
          sumsq[c] += v * v;
        }
      }
    }
  }
  EXPECT_NEAR(loss, sumsq[1] + sumsq[2], 1e-4 * (sumsq[1] + sumsq[2]));

  // ArgMax of r = the window of channels 1, 2 per sample: (index, value) pairs.
  Blob* am = net->blob("am");
  Blob* r = net->blob("r");
  ASSERT_NE(am, nullptr);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(am->shape(), (Shape{2, 2, 2}));
  for (int n = 0; n < 2; ++n) {
    const float* row = r->data() + n * 50;
    int best = 0;
    for (int j = 1; j < 50; ++j) best = row[j] > row[best] ? j : best;
    EXPECT_EQ(am->data()[n * 4 + 0], static_cast<float>(best));
    EXPECT_EQ(am->data()[n * 4 + 2], row[best]);
  }
  // Silence produces nothing, so s1 is no output; am and loss are.
  std::vector<std::string> outputs;
  for (const NetOutput& o : net->outputs()) outputs.push_back(o.name);
  EXPECT_EQ(outputs, (std::vector<std::string>{"loss", "am"}));
  for (int i = 0; i < net->num_layers(); ++i) {
    if (net->layer(i).type() == "Silence" || net->layer(i).type() == "ArgMax") {
      EXPECT_FALSE(net->layer_needs_backward(i)) << net->layer(i).name();
      EXPECT_TRUE(net->layer_tops(i).size() == (net->layer(i).type() == "Silence" ? 0u : 1u));
    }
  }

  net->clear_param_diffs();
  net->backward();
  const NetParam* gamma = net->find_param("scale/0");
  ASSERT_NE(gamma, nullptr);
  ASSERT_EQ(gamma->blob->count(), 3);
  // dL/dgamma_c = 2 * gamma_c * sum(x^2) over channel c's window; channel 0 is silenced.
  EXPECT_EQ(gamma->blob->diff()[0], 0.0f);
  for (int c = 1; c < 3; ++c) {
    EXPECT_NEAR(gamma->blob->diff()[c], 2.0 * sumsq[c], 1e-4 * 2.0 * sumsq[c]) << c;
  }
}

}  // namespace
}  // namespace banyan
