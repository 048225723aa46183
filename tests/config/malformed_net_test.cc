// Malformed net files, part 1: text the parser rejects (syntax, unknown
// fields and enum values, wrong value types) and mistakes in a net's
// structure (names, rules, blobs).  The expected message parts (file:line:col,
// layer, field, value) are worked out from each text by hand.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/config/loader.h"

namespace banyan {
namespace {

struct BadConfig {
  const char* name;
  const char* text;
  StatusCode code;
  std::vector<std::string> expect;  // substrings of the message
};

constexpr StatusCode kInvalid = StatusCode::kInvalidArgument;
constexpr StatusCode kUnimplemented = StatusCode::kUnimplemented;

const BadConfig kCases[] = {
    {"syntax_error",
     R"(layer {
  name: "a"
  type "ReLU"
}
)",
     kInvalid,
     {"bad.prototxt:3:8: ", "Expected \":\"", "near 'type \"ReLU\"'"}},

    {"unknown_field",
     R"(layer {
  name: "a"
  type: "ReLU"
  colour: 3
}
)",
     kInvalid,
     {"bad.prototxt:4:3: ", "LayerParameter", "\"colour\"", "near 'colour: 3'"}},

    {"unknown_enum_value",
     R"(layer {
  name: "p"
  type: "Pooling"
  pooling_param {
    pool: MEDIAN
    kernel_size: 2
  }
}
)",
     kInvalid,
     {"bad.prototxt:5:11: ", "\"MEDIAN\"", "\"pool\""}},

    {"wrong_value_type",
     R"(layer {
  name: "ip"
  type: "InnerProduct"
  inner_product_param {
    num_output: "ten"
  }
}
)",
     kInvalid,
     {"bad.prototxt:5:17: ", "ten", "near 'num_output: \"ten\"'"}},

    {"bad_boolean",
     R"(layer {
  name: "c"
  type: "Convolution"
  convolution_param {
    num_output: 2
    kernel_size: 1
    bias_term: maybe
  }
}
)",
     kInvalid,
     {"bad.prototxt:7:16: ", "\"bias_term\"", "\"maybe\""}},

    {"field_given_twice",
     R"(layer {
  name: "ip"
  type: "InnerProduct"
  inner_product_param {
    num_output: 2
    num_output: 3
  }
}
)",
     kInvalid,
     {"bad.prototxt:6:5: ", "\"num_output\"", "multiple times"}},

    {"v1_layers_format",
     R"(name: "old"
layers {
  name: "r"
  type: RELU
}
)",
     kInvalid,
     {"bad.prototxt:2:1: ", "\"layers\"", "V1"}},

    {"duplicate_layer_names",
     R"(layer { name: "x" type: "InnerProduct" bottom: "a" top: "b"
        inner_product_param { num_output: 2 } }
layer { name: "x" type: "ReLU" bottom: "b" top: "c" }
layer { name: "x" type: "InnerProduct" bottom: "c" top: "d"
        inner_product_param { num_output: 2 } include { phase: TEST } }
)",
     kInvalid,
     {"bad.prototxt:4:1: ", "duplicate layer name 'x'", "also at bad.prototxt:1:1", "TEST",
      "weights are matched by layer name"}},

    {"missing_layer_type",
     R"(layer {
  name: "t"
  bottom: "a"
  top: "b"
}
)",
     kInvalid,
     {"bad.prototxt:1:1: layer 't': type is missing"}},

    {"missing_layer_name",
     R"(layer { name: "ok" type: "ReLU" bottom: "a" top: "a" }
layer {
  type: "ReLU"
}
)",
     kInvalid,
     {"bad.prototxt:2:1: layer #2: name is missing"}},

    {"parameter_sharing",
     R"(layer {
  name: "ip"
  type: "InnerProduct"
  param { name: "shared_w" lr_mult: 1 }
  inner_product_param { num_output: 3 }
}
)",
     kUnimplemented,
     {"bad.prototxt:4:11: layer 'ip': param.name 'shared_w'", "sharing"}},

    {"stage_rule_matching_nothing",
     R"(layer {
  name: "r"
  type: "ReLU"
  bottom: "a"
  top: "a"
  include { phase: TEST stage: "deploy" not_stage: "deploy" }
}
)",
     kInvalid,
     {"bad.prototxt:6:41: layer 'r': include.not_stage", "'deploy' is also a stage"}},

    {"level_rule_matching_nothing",
     R"(layer {
  name: "r"
  type: "ReLU"
  bottom: "a"
  top: "a"
  exclude { min_level: 3 max_level: 1 }
}
)",
     kInvalid,
     {"layer 'r': exclude.max_level", "below min_level 3"}},

    {"include_and_exclude",
     R"(layer {
  name: "r"
  type: "ReLU"
  include { phase: TRAIN }
  exclude { phase: TEST }
}
)",
     kInvalid,
     {"bad.prototxt:5:3: layer 'r': exclude and include", "both given"}},

    {"negative_partition",
     R"(layer {
  name: "r"
  type: "ReLU"
  bottom: "a"
  top: "a"
  partition: -1
}
)",
     kInvalid,
     {"bad.prototxt:6:3: layer 'r': partition must be >= 0, got -1"}},

    {"loss_weight_count",
     R"(layer {
  name: "loss"
  type: "SoftmaxWithLoss"
  bottom: "x"
  bottom: "y"
  top: "loss"
  loss_weight: 1
  loss_weight: 2
}
)",
     kInvalid,
     {"bad.prototxt:7:3: layer 'loss': loss_weight is given 2 times for 1 tops"}},

    {"input_dim_not_four_per_input",
     R"(input: "data"
input_dim: 1
input_dim: 3
input_dim: 8
)",
     kInvalid,
     {"bad.prototxt:2:1: input_dim is given 3 times for 1 inputs", "4 per input"}},
};

// Parses `c.text` as "bad.prototxt" and checks the code and every part.
void expect_net_error(const BadConfig& c) {
  SCOPED_TRACE(c.name);
  NetConfig net;
  Status s = parse_net_config(c.text, "bad.prototxt", &net);
  ASSERT_FALSE(s.ok()) << c.name << ": loaded";
  EXPECT_TRUE(net.layers.empty()) << c.name << ": a failed load leaves no layers";
  EXPECT_EQ(s.code(), c.code) << c.name << ": " << s.to_string();
  for (const std::string& part : c.expect) {
    EXPECT_NE(s.message().find(part), std::string::npos)
        << c.name << ": expected '" << part << "' in\n  " << s.message();
  }
}

TEST(MalformedNetTest, EachCaseNamesFileLineFieldAndValue) {
  for (const BadConfig& c : kCases) expect_net_error(c);
}

TEST(MalformedNetTest, MissingFilesAreNotFound) {
  const std::string path = "/nonexistent/banyan/net.prototxt";
  NetConfig net;
  Status s = load_net_config(path, &net);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.to_string();
  EXPECT_NE(s.message().find("net file '" + path + "'"), std::string::npos) << s.message();
}

TEST(MalformedNetTest, ParseErrorsAreNotPrinted) {
  ::testing::internal::CaptureStderr();
  NetConfig net;
  Status s =
      parse_net_config("layer { name: 'a' type: 'ReLU' nonsense: 1 }", "quiet.prototxt", &net);
  Status t = parse_net_config("layer { name: ", "quiet2.prototxt", &net);
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(s.message().find("quiet.prototxt:1:32: "), std::string::npos) << s.message();
  EXPECT_NE(t.message().find("quiet2.prototxt:1:"), std::string::npos) << t.message();
  EXPECT_NE(t.message().find("end of file"), std::string::npos) << t.message();
  EXPECT_EQ(printed, "");
}

}  // namespace
}  // namespace banyan
