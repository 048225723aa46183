// The spatial layers as Caffe files write them: LRN with norm_region
// WITHIN_CHANNEL (Caffe's cifar10_full net, layer text unchanged, built and
// run forward and backward), Deconvolution (convolution_param, FCN's
// upsampling layer) and SPP (spp_param), and the loader's and the net
// builder's errors for values those layers cannot use.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "engine/config/loader.h"
#include "engine/core/random.h"
#include "engine/net.h"

namespace banyan {
namespace {

// The shape of Caffe's examples/cifar10/cifar10_full_train_test.prototxt
// with an Input in place of the LMDB Data layers; the norm1 and norm2 blocks
// are Caffe's text as written.
const char* kCifar10Full = R"(name: "CIFAR10_full"
layer { name: "cifar" type: "Input" top: "data" top: "label"
        input_param { shape { dim: 2 dim: 3 dim: 32 dim: 32 } shape { dim: 2 } } }
layer {
  name: "conv1"
  type: "Convolution"
  bottom: "data"
  top: "conv1"
  param { lr_mult: 1 }
  param { lr_mult: 2 }
  convolution_param {
    num_output: 32
    pad: 2
    kernel_size: 5
    stride: 1
    weight_filler { type: "gaussian" std: 0.01 }
    bias_filler { type: "constant" }
  }
}
layer {
  name: "pool1"
  type: "Pooling"
  bottom: "conv1"
  top: "pool1"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 }
}
layer { name: "relu1" type: "ReLU" bottom: "pool1" top: "pool1" }
layer {
  name: "norm1"
  type: "LRN"
  bottom: "pool1"
  top: "norm1"
  lrn_param {
    local_size: 3
    alpha: 5e-05
    beta: 0.75
    norm_region: WITHIN_CHANNEL
  }
}
layer {
  name: "conv2"
  type: "Convolution"
  bottom: "norm1"
  top: "conv2"
  param { lr_mult: 1 }
  param { lr_mult: 2 }
  convolution_param {
    num_output: 32
    pad: 2
    kernel_size: 5
    stride: 1
    weight_filler { type: "gaussian" std: 0.01 }
    bias_filler { type: "constant" }
  }
}
layer { name: "relu2" type: "ReLU" bottom: "conv2" top: "conv2" }
layer {
  name: "pool2"
  type: "Pooling"
  bottom: "conv2"
  top: "pool2"
  pooling_param { pool: AVE kernel_size: 3 stride: 2 }
}
layer {
  name: "norm2"
  type: "LRN"
  bottom: "pool2"
  top: "norm2"
  lrn_param {
    local_size: 3
    alpha: 5e-05
    beta: 0.75
    norm_region: WITHIN_CHANNEL
  }
}
layer {
  name: "conv3"
  type: "Convolution"
  bottom: "norm2"
  top: "conv3"
  convolution_param {
    num_output: 64
    pad: 2
    kernel_size: 5
    stride: 1
    weight_filler { type: "gaussian" std: 0.01 }
    bias_filler { type: "constant" }
  }
}
layer { name: "relu3" type: "ReLU" bottom: "conv3" top: "conv3" }
layer {
  name: "pool3"
  type: "Pooling"
  bottom: "conv3"
  top: "pool3"
  pooling_param { pool: AVE kernel_size: 3 stride: 2 }
}
layer {
  name: "ip1"
  type: "InnerProduct"
  bottom: "pool3"
  top: "ip1"
  param { lr_mult: 1 decay_mult: 250 }
  param { lr_mult: 2 decay_mult: 0 }
  inner_product_param {
    num_output: 10
    weight_filler { type: "gaussian" std: 0.01 }
    bias_filler { type: "constant" }
  }
}
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip1" bottom: "label" top: "loss" }
)";

NetConfig parse_ok(const std::string& text) {
  NetConfig c;
  Status s = parse_net_config(text, "net.prototxt", &c);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return c;
}

const LayerConfig* find_layer(const NetConfig& net, const std::string& name) {
  for (const LayerConfig& l : net.layers) {
    if (l.name == name) return &l;
  }
  ADD_FAILURE() << "no layer " << name;
  return nullptr;
}

void fill_blob(Blob* b, uint64_t seed, float scale) {
  const uint64_t key = key_for(seed, "inputs");
  for (int64_t i = 0; i < b->count(); ++i) b->data()[i] = scale * normal_at(key, 0, i);
}

// norm = x * (1 + alpha * (3x3 window sum of x^2) / 9)^-0.75 per channel.
double within_lrn_at(const Blob& x, int64_t plane, int64_t h, int64_t w) {
  const int64_t H = x.dim(2), W = x.dim(3);
  const float* p = x.data() + plane * H * W;
  double sum = 0.0;
  for (int64_t i = std::max<int64_t>(h - 1, 0); i <= std::min(h + 1, H - 1); ++i) {
    for (int64_t j = std::max<int64_t>(w - 1, 0); j <= std::min(w + 1, W - 1); ++j) {
      sum += double(p[i * W + j]) * p[i * W + j];
    }
  }
  return p[h * W + w] * std::pow(1.0 + 5e-5 * sum / 9.0, -0.75);
}

TEST(SpatialLayerParamsTest, Cifar10FullWithinChannelLrnLoadsAndRuns) {
  const NetConfig config = parse_ok(kCifar10Full);
  const LayerConfig* norm1 = find_layer(config, "norm1");
  ASSERT_NE(norm1, nullptr);
  EXPECT_EQ(norm1->lrn.norm_region, LrnConfig::NormRegion::kWithinChannel);
  EXPECT_EQ(norm1->lrn.local_size, 3);
  EXPECT_FLOAT_EQ(norm1->lrn.alpha, 5e-5f);
  EXPECT_FLOAT_EQ(norm1->lrn.beta, 0.75f);

  WorkerContext ctx(Device::cpu(), 1);
  std::unique_ptr<Net> net;
  NetBuildOptions train;
  train.phase = Phase::kTrain;
  Status s = Net::create(config, train, &ctx, &net);
  ASSERT_TRUE(s.ok()) << s.to_string();
  fill_blob(net->blob("data"), 1, 60.0f);
  Blob* label = net->blob("label");
  for (int64_t i = 0; i < label->count(); ++i) label->data()[i] = static_cast<float>(i * 3 % 10);
  const float loss = net->forward();
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_GT(loss, 0.0f);
  // norm1 against the formula on the blob it read (pool1 after relu1, in place).
  const Blob& pool1 = *net->blob("pool1");
  const Blob& out = *net->blob("norm1");
  ASSERT_EQ(out.shape(), (Shape{2, 32, 16, 16}));
  int changed = 0;
  for (int64_t plane = 0; plane < 2 * 32; plane += 7) {
    for (int64_t h = 0; h < 16; ++h) {
      for (int64_t w = 0; w < 16; ++w) {
        const double ref = within_lrn_at(pool1, plane, h, w);
        const double got = out.data()[(plane * 16 + h) * 16 + w];
        ASSERT_NEAR(got, ref, 1e-5 * std::max(1.0, std::fabs(ref)))
            << plane << " " << h << " " << w;
        changed += std::fabs(ref - pool1.data()[(plane * 16 + h) * 16 + w]) > 1e-6 ? 1 : 0;
      }
    }
  }
  EXPECT_GT(changed, 0);
  net->backward();
  double norm = 0.0;
  bool finite = true;
  for (int64_t i = 0; i < net->param_count(); ++i) {
    finite = finite && std::isfinite(net->param_diff()[i]);
    norm += std::fabs(net->param_diff()[i]);
  }
  EXPECT_TRUE(finite);
  EXPECT_GT(norm, 0.0);
}

TEST(SpatialLayerParamsTest, AcrossChannelsStaysTheDefault) {
  const NetConfig c = parse_ok(R"(layer { name: "n" type: "LRN" bottom: "x" top: "y"
  lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 k: 2 } })");
  EXPECT_EQ(c.layers[0].lrn.norm_region, LrnConfig::NormRegion::kAcrossChannels);
  EXPECT_FLOAT_EQ(c.layers[0].lrn.k, 2.0f);
  // Within a channel k is ignored (with a warning), not refused.
  const NetConfig w = parse_ok(R"(layer { name: "n" type: "LRN" bottom: "x" top: "y"
  lrn_param { local_size: 3 norm_region: WITHIN_CHANNEL k: 0 } })");
  EXPECT_EQ(w.layers[0].lrn.norm_region, LrnConfig::NormRegion::kWithinChannel);
}

// FCN's 32x upsampling layer (voc-fcn32s), on a small score map.
TEST(SpatialLayerParamsTest, DeconvolutionLoadsAndRuns) {
  const NetConfig config = parse_ok(R"(name: "up"
layer { name: "input" type: "Input" top: "score_fr"
        input_param { shape { dim: 1 dim: 3 dim: 2 dim: 3 } } }
layer {
  name: "upscore"
  type: "Deconvolution"
  bottom: "score_fr"
  top: "upscore"
  param {
    lr_mult: 0
  }
  convolution_param {
    num_output: 4
    bias_term: false
    kernel_size: 64
    stride: 32
    weight_filler { type: "gaussian" std: 0.1 }
  }
}
)");
  const LayerConfig* up = find_layer(config, "upscore");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->convolution.num_output, 4);
  EXPECT_FALSE(up->convolution.bias_term);
  EXPECT_EQ(up->convolution.kernel_h, 64);
  EXPECT_EQ(up->convolution.stride_w, 32);
  ASSERT_EQ(up->param.size(), 1u);
  EXPECT_EQ(up->param[0].lr_mult, 0.0f);

  WorkerContext ctx(Device::cpu(), 1);
  std::unique_ptr<Net> net;
  Status s = Net::create(config, {}, &ctx, &net);
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(net->params().size(), 1u);
  EXPECT_EQ(net->params()[0].blob->shape(), (Shape{3, 4, 64, 64}));  // (C_in, C_out, kh, kw)
  fill_blob(net->blob("score_fr"), 2, 1.0f);
  net->forward();
  const Blob& top = *net->blob("upscore");
  EXPECT_EQ(top.shape(), (Shape{1, 4, 96, 128}));  // 32 * (in - 1) + 64
  double norm = 0.0;
  for (int64_t i = 0; i < top.count(); ++i) norm += std::fabs(top.data()[i]);
  EXPECT_GT(norm, 0.0);
}

TEST(SpatialLayerParamsTest, SppLoadsAndRuns) {
  const NetConfig config = parse_ok(R"(name: "spp"
layer { name: "input" type: "Input" top: "conv5"
        input_param { shape { dim: 2 dim: 4 dim: 13 dim: 11 } } }
layer {
  name: "spp5"
  type: "SPP"
  bottom: "conv5"
  top: "spp5"
  spp_param {
    pyramid_height: 3
    pool: AVE
    engine: CAFFE
  }
}
)");
  const LayerConfig* spp = find_layer(config, "spp5");
  ASSERT_NE(spp, nullptr);
  EXPECT_EQ(spp->spp.pyramid_height, 3);
  EXPECT_EQ(spp->spp.pool, PoolingConfig::Method::kAve);
  EXPECT_EQ(parse_ok(R"(layer { name: "s" type: "SPP" bottom: "x" top: "y"
                         spp_param { pyramid_height: 2 } })")
                .layers[0]
                .spp.pool,
            PoolingConfig::Method::kMax);  // Caffe's default

  WorkerContext ctx(Device::cpu(), 1);
  std::unique_ptr<Net> net;
  Status s = Net::create(config, {}, &ctx, &net);
  ASSERT_TRUE(s.ok()) << s.to_string();
  fill_blob(net->blob("conv5"), 3, 1.0f);
  net->forward();
  const Blob& top = *net->blob("spp5");
  EXPECT_EQ(top.shape(), (Shape{2, 4 * (1 + 4 + 16)}));
  // Level 0 is the global average of each channel.
  const Blob& x = *net->blob("conv5");
  double mean = 0.0;
  for (int64_t i = 0; i < 13 * 11; ++i) mean += x.data()[i];
  EXPECT_NEAR(top.data()[0], mean / (13 * 11), 1e-5);
}

struct BadCase {
  const char* text;
  StatusCode code;
  const char* fragment;
};

TEST(SpatialLayerParamsTest, LoaderRefusesWhatTheLayersCannotUse) {
  const BadCase cases[] = {
      {R"(layer { name: "s" type: "SPP" bottom: "x" top: "y"
                  spp_param { pyramid_height: 2 pool: STOCHASTIC } })",
       StatusCode::kUnimplemented, "spp_param.pool"},
      {R"(layer { name: "s" type: "SPP" bottom: "x" top: "y" spp_param { pyramid_height: 0 } })",
       StatusCode::kInvalidArgument, "spp_param.pyramid_height must be in [1, 30], got 0"},
      {R"(layer { name: "s" type: "SPP" bottom: "x" top: "y" })", StatusCode::kInvalidArgument,
       "pyramid_height"},
      {R"(layer { name: "d" type: "Deconvolution" bottom: "x" top: "y"
                  convolution_param { num_output: 3 kernel_size: 2 group: 2 } })",
       StatusCode::kInvalidArgument, "convolution_param.group must divide num_output (3), got 2"},
      {R"(layer { name: "d" type: "Deconvolution" bottom: "x" top: "y"
                  convolution_param { num_output: 3 } })",
       StatusCode::kInvalidArgument, "convolution_param.kernel_size is required"},
      {R"(layer { name: "n" type: "LRN" bottom: "x" top: "y"
                  lrn_param { local_size: 2 norm_region: WITHIN_CHANNEL } })",
       StatusCode::kInvalidArgument, "lrn_param.local_size must be odd"},
  };
  for (const BadCase& c : cases) {
    NetConfig net;
    Status s = parse_net_config(c.text, "bad.prototxt", &net);
    EXPECT_EQ(s.code(), c.code) << c.text << "\n" << s.to_string();
    EXPECT_NE(s.message().find(c.fragment), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("bad.prototxt:"), std::string::npos) << s.message();
  }
}

TEST(SpatialLayerParamsTest, NetBuilderNamesTheLayerForShapeErrors) {
  const std::pair<const char*, const char*> cases[] = {
      // Level 2 of a 5x5 input: kernel 2, pad (8 - 5 + 1) / 2 = 2.
      {R"(layer { name: "in" type: "Input" top: "x"
                  input_param { shape { dim: 1 dim: 2 dim: 5 dim: 5 } } }
          layer { name: "spp" type: "SPP" bottom: "x" top: "y" spp_param { pyramid_height: 4 } })",
       "pyramid level 2 pools the 5x5 bottom into 4x4 bins with kernel 2x2 and pad 2x2"},
      // stride 1 * (1 - 1) + 1 - 2 * 1 < 0
      {R"(layer { name: "in" type: "Input" top: "x"
                  input_param { shape { dim: 1 dim: 2 dim: 1 dim: 1 } } }
          layer { name: "up" type: "Deconvolution" bottom: "x" top: "y"
                  convolution_param { num_output: 2 kernel_size: 1 pad: 1 } })",
       "output size would be -1x-1"},
  };
  for (const auto& [text, fragment] : cases) {
    WorkerContext ctx(Device::cpu(), 1);
    std::unique_ptr<Net> net;
    Status s = Net::create(parse_ok(text), {}, &ctx, &net);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace banyan
