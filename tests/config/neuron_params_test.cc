// The elementwise layers' parameters as Caffe writes them (elu_param,
// exp_param, log_param, power_param, threshold_param, sigmoid_param's
// engine) and the loader's errors for values those layers cannot use.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "engine/config/loader.h"

namespace banyan {
namespace {

TEST(NeuronParamsTest, LoaderReadsCaffeParametersAndRefusesBadOnes) {
  NetConfig net;
  Status s = parse_net_config(R"(name: "n"
layer { name: "e" type: "ELU" bottom: "x" top: "a" elu_param { alpha: 0.5 } }
layer { name: "x2" type: "Exp" bottom: "a" top: "b" exp_param { base: 2 scale: 3 shift: 4 } }
layer { name: "l" type: "Log" bottom: "b" top: "c" log_param { base: 10 } }
layer { name: "p" type: "Power" bottom: "c" top: "d" power_param { power: 2 scale: 0.5 shift: 1 } }
layer { name: "t" type: "Threshold" bottom: "d" top: "f" threshold_param { threshold: 0.3 } }
layer { name: "s" type: "Sigmoid" bottom: "f" top: "f" sigmoid_param { engine: CUDNN } }
layer { name: "h" type: "TanH" bottom: "f" top: "g" }
layer { name: "v" type: "AbsVal" bottom: "g" top: "i" }
layer { name: "b" type: "BNLL" bottom: "i" top: "j" }
)",
                              "n.prototxt", &net);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(net.layers[0].neuron.alpha, 0.5f);
  EXPECT_EQ(net.layers[1].neuron.base, 2.0f);
  EXPECT_EQ(net.layers[1].neuron.scale, 3.0f);
  EXPECT_EQ(net.layers[1].neuron.shift, 4.0f);
  EXPECT_EQ(net.layers[2].neuron.base, 10.0f);
  EXPECT_EQ(net.layers[2].neuron.scale, 1.0f);
  EXPECT_EQ(net.layers[3].neuron.power, 2.0f);
  EXPECT_EQ(net.layers[4].neuron.threshold, 0.3f);
  const std::pair<const char*, const char*> bad[] = {
      {"exp_param { base: 0 }", "exp_param.base"},
      {"exp_param { base: 1 }", "must be positive and not 1"},
      {"log_param { base: -2 }", "log_param.base"},
      {"power_param { power: inf }", "power_param.power"},
  };
  for (const auto& [param, message] : bad) {
    const std::string type = std::string(param).substr(0, 3) == "exp"   ? "Exp"
                             : std::string(param).substr(0, 3) == "log" ? "Log"
                                                                        : "Power";
    s = parse_net_config(
        "layer { name: 'q' type: '" + type + "' bottom: 'x' top: 'y' " + param + " }",
        "bad.prototxt", &net);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << param;
    EXPECT_NE(s.message().find(message), std::string::npos) << s.message();
  }
}

// Clip (min and max required, min <= max) and Swish (beta).
TEST(NeuronParamsTest, ClipAndSwish) {
  NetConfig net;
  Status s = parse_net_config(R"(
layer { name: "c" type: "Clip" bottom: "x" top: "y" clip_param { min: -1 max: 2.5 } }
layer { name: "w" type: "Swish" bottom: "y" top: "z" swish_param { beta: 1.5 } }
layer { name: "w1" type: "Swish" bottom: "z" top: "z1" }
)",
                              "cs.prototxt", &net);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(net.layers[0].neuron.clip_min, -1.0f);
  EXPECT_EQ(net.layers[0].neuron.clip_max, 2.5f);
  EXPECT_EQ(net.layers[1].neuron.beta, 1.5f);
  EXPECT_EQ(net.layers[2].neuron.beta, 1.0f);
  const std::pair<const char*, const char*> bad[] = {
      {"type: 'Clip' clip_param { min: 1 }", "bad.prototxt:1:53: layer 'q': clip_param.max is required"},
      {"type: 'Clip' clip_param { min: 2 max: 1 }", "clip_param.max must be >= min (2), got 1"},
      {"type: 'Swish' swish_param { beta: nan }", "swish_param.beta must be finite"},
  };
  for (const auto& [text, message] : bad) {
    s = parse_net_config(std::string("layer { name: 'q' bottom: 'x' top: 'y' ") + text + " }",
                         "bad.prototxt", &net);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(s.message().find(message), std::string::npos) << s.message();
  }
}

// Caffe's sparse gaussian fill (its MNIST autoencoder uses sparse: 15).
TEST(NeuronParamsTest, SparseGaussianFillerLoads) {
  NetConfig net;
  Status s = parse_net_config(R"(layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y"
  inner_product_param { num_output: 30 weight_filler { type: "gaussian" std: 1 sparse: 15 } } }
)",
                              "sparse.prototxt", &net);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(net.layers[0].inner_product.weight_filler.sparse, 15);
  s = parse_net_config(R"(layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y"
  inner_product_param { num_output: 30 weight_filler { type: "gaussian" sparse: -3 } } }
)",
                       "sparse.prototxt", &net);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("sparse"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace banyan
