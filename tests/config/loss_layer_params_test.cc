// The parameters of HingeLoss, InfogainLoss, MultinomialLogisticLoss,
// ContrastiveLoss, PReLU, Bias, Embed and MVN as Caffe writes them, their
// defaults when absent, and the loader's errors for values they cannot use.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "engine/config/loader.h"
#include "layers/registry.h"

namespace banyan {
namespace {

TEST(LossLayerParamsTest, LoaderReadsCaffeParameters) {
  NetConfig net;
  const Status s = parse_net_config(R"(name: "n"
layer { name: "h" type: "HingeLoss" bottom: "x" bottom: "l" top: "h" hinge_loss_param { norm: L2 } }
layer { name: "i" type: "InfogainLoss" bottom: "x" bottom: "l" top: "i"
  infogain_loss_param { source: "H.binaryproto" axis: 2 } loss_param { ignore_label: 3 normalization: FULL } }
layer { name: "m" type: "MultinomialLogisticLoss" bottom: "p" bottom: "l" top: "m" }
layer { name: "c" type: "ContrastiveLoss" bottom: "a" bottom: "b" bottom: "s" top: "c"
  contrastive_loss_param { margin: 2.5 legacy_version: true } }
layer { name: "r" type: "PReLU" bottom: "x" top: "x" prelu_param { channel_shared: true
  filler { type: "constant" value: 0.1 } } }
layer { name: "r2" type: "PReLU" bottom: "x" top: "y" }
layer { name: "b" type: "Bias" bottom: "y" top: "z" bias_param { axis: 2 num_axes: -1
  filler { type: "gaussian" std: 0.1 } } }
layer { name: "b2" type: "Bias" bottom: "y" bottom: "z" top: "z2" }
layer { name: "e" type: "Embed" bottom: "w" top: "e" embed_param { num_output: 8 input_dim: 100
  bias_term: false weight_filler { type: "uniform" min: -0.1 max: 0.1 } } }
layer { name: "v" type: "MVN" bottom: "z" top: "v" mvn_param { normalize_variance: false
  across_channels: true eps: 1e-5 } }
layer { name: "v2" type: "MVN" bottom: "z" top: "v2" }
)",
                                    "n.prototxt", &net);
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(net.layers.size(), 11u);
  EXPECT_EQ(net.layers[0].hinge_loss.norm, HingeLossConfig::Norm::kL2);
  EXPECT_EQ(net.layers[1].infogain_loss.source, "H.binaryproto");
  EXPECT_EQ(net.layers[1].infogain_loss.axis, 2);
  EXPECT_EQ(net.layers[1].loss.ignore_label, 3);
  EXPECT_EQ(net.layers[1].loss.normalization, LossConfig::Normalization::kFull);
  EXPECT_EQ(net.layers[3].contrastive_loss.margin, 2.5f);
  EXPECT_TRUE(net.layers[3].contrastive_loss.legacy_version);
  EXPECT_TRUE(net.layers[4].prelu.channel_shared);
  EXPECT_EQ(net.layers[4].prelu.filler.value, 0.1f);
  EXPECT_FALSE(net.layers[5].prelu.channel_shared);
  EXPECT_EQ(net.layers[5].prelu.filler.type, "constant");
  EXPECT_EQ(net.layers[5].prelu.filler.value, 0.25f);
  EXPECT_EQ(net.layers[6].bias.axis, 2);
  EXPECT_EQ(net.layers[6].bias.num_axes, -1);
  EXPECT_EQ(net.layers[6].bias.filler.type, "gaussian");
  EXPECT_EQ(net.layers[7].bias.axis, 1);
  EXPECT_EQ(net.layers[7].bias.num_axes, 1);
  EXPECT_EQ(net.layers[7].bias.filler.value, 0.0f);
  EXPECT_EQ(net.layers[8].embed.num_output, 8);
  EXPECT_EQ(net.layers[8].embed.input_dim, 100);
  EXPECT_FALSE(net.layers[8].embed.bias_term);
  EXPECT_EQ(net.layers[8].embed.weight_filler.type, "uniform");
  EXPECT_FALSE(net.layers[9].mvn.normalize_variance);
  EXPECT_TRUE(net.layers[9].mvn.across_channels);
  EXPECT_EQ(net.layers[9].mvn.eps, 1e-5f);
  EXPECT_TRUE(net.layers[10].mvn.normalize_variance);
  EXPECT_FALSE(net.layers[10].mvn.across_channels);
  EXPECT_EQ(net.layers[10].mvn.eps, 1e-9f);
  // Every type is known to the registry and has a default loss weight of 1
  // exactly when it is a loss.
  for (const LayerConfig& c : net.layers) {
    std::unique_ptr<Layer> layer;
    ASSERT_TRUE(create_layer(c, &layer).ok()) << c.type;
    const bool loss = c.type.find("Loss") != std::string::npos;
    EXPECT_EQ(layer->default_loss_weight(0), loss ? 1.0f : 0.0f) << c.type;
  }
  EXPECT_TRUE(type_has_params("PReLU") && type_has_params("Bias") && type_has_params("Embed"));
}

TEST(LossLayerParamsTest, LoaderRefusesBadValues) {
  const std::pair<const char*, const char*> bad[] = {
      {"type: 'Embed' embed_param { num_output: 0 input_dim: 3 }", "embed_param.num_output"},
      {"type: 'Embed' embed_param { num_output: 2 }", "embed_param.input_dim"},
      {"type: 'Bias' bias_param { num_axes: -2 }", "bias_param.num_axes"},
      {"type: 'MVN' mvn_param { eps: -1 }", "mvn_param.eps"},
      {"type: 'ContrastiveLoss' contrastive_loss_param { margin: inf }",
       "contrastive_loss_param.margin"},
      {"type: 'PReLU' prelu_param { filler { type: 'bogus' } }", "prelu_param.filler.type"},
  };
  for (const auto& [layer, message] : bad) {
    NetConfig net;
    const Status s =
        parse_net_config(std::string("layer { name: 'q' bottom: 'x' top: 'y' ") + layer + " }",
                         "bad.prototxt", &net);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << layer;
    EXPECT_NE(s.message().find(message), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace banyan
