// Malformed net files, part 2: type-specific layer parameters the loader
// rejects (windows, groups, fillers, data settings, unsupported modes).  The
// expected message parts (file:line:col, layer, field path, value) are worked
// out from each text by hand.
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
    {"negative_kernel",
     R"(layer {
  name: "c"
  type: "Convolution"
  convolution_param {
    num_output: 4
    kernel_size: -3
  }
}
)",
     kInvalid,
     {"bad.prototxt:6:5: layer 'c': convolution_param.kernel_size must be > 0, got -3"}},

    {"zero_stride",
     R"(layer {
  name: "c"
  type: "Convolution"
  convolution_param {
    num_output: 4
    kernel_size: 3
    stride: 0
  }
}
)",
     kInvalid,
     {"bad.prototxt:7:5: layer 'c': convolution_param.stride must be > 0, got 0"}},

    {"negative_pad_h",
     R"(layer {
  name: "c"
  type: "Convolution"
  convolution_param {
    num_output: 4
    kernel_size: 3
    pad_h: -1
  }
}
)",
     kInvalid,
     {"bad.prototxt:7:5: layer 'c': convolution_param.pad_h must be >= 0, got -1"}},

    {"missing_num_output",
     R"(layer {
  name: "c"
  type: "Convolution"
  convolution_param {
    kernel_size: 3
  }
}
)",
     kInvalid,
     {"bad.prototxt:4:3: layer 'c': convolution_param.num_output must be > 0, got 0"}},

    {"group_does_not_divide",
     R"(layer {
  name: "c"
  type: "Convolution"
  convolution_param {
    num_output: 10
    kernel_size: 3
    group: 3
  }
}
)",
     kInvalid,
     {"bad.prototxt:7:5: layer 'c': convolution_param.group", "num_output (10)", "got 3"}},

    {"kernel_size_and_kernel_h",
     R"(layer {
  name: "c"
  type: "Convolution"
  convolution_param {
    num_output: 2
    kernel_size: 3
    kernel_h: 3
    kernel_w: 3
  }
}
)",
     kInvalid,
     {"bad.prototxt:7:5: layer 'c': convolution_param.kernel_h and kernel_size", "both given"}},

    {"kernel_h_without_kernel_w",
     R"(layer {
  name: "c"
  type: "Convolution"
  convolution_param {
    num_output: 2
    kernel_h: 3
  }
}
)",
     kInvalid,
     {"bad.prototxt:6:5: layer 'c': convolution_param.kernel_h", "without kernel_w"}},

    {"three_d_convolution",
     R"(layer {
  name: "c3d"
  type: "Convolution"
  convolution_param { num_output: 2 kernel_size: 3 kernel_size: 3 kernel_size: 3 }
}
)",
     kUnimplemented,
     {"bad.prototxt:4:67: layer 'c3d': convolution_param.kernel_size has 3 values", "2-D"}},

    {"dropout_ratio_above_one",
     R"(layer {
  name: "d"
  type: "Dropout"
  dropout_param { dropout_ratio: 1.5 }
}
)",
     kInvalid,
     {"bad.prototxt:4:19: layer 'd': dropout_param.dropout_ratio", "[0, 1)", "1.5"}},

    {"unsupported_filler",
     R"(layer {
  name: "ip"
  type: "InnerProduct"
  inner_product_param {
    num_output: 3
    weight_filler { type: "positive_unitball" }
  }
}
)",
     kUnimplemented,
     {"bad.prototxt:6:21: layer 'ip': inner_product_param.weight_filler.type",
      "'positive_unitball'", "not supported"}},

    {"unknown_filler",
     R"(layer {
  name: "c"
  type: "Convolution"
  convolution_param {
    num_output: 2
    kernel_size: 1
    bias_filler { type: "gausian" }
  }
}
)",
     kInvalid,
     {"bad.prototxt:7:19: layer 'c': convolution_param.bias_filler.type 'gausian'",
      "constant, gaussian, uniform, xavier or msra"}},

    {"leveldb_backend",
     R"(layer {
  name: "data"
  type: "Data"
  top: "data"
  data_param {
    source: "db"
    batch_size: 8
    backend: LEVELDB
  }
}
)",
     kUnimplemented,
     {"bad.prototxt:8:5: layer 'data': data_param.backend", "LEVELDB", "LMDB"}},

    {"data_without_source",
     R"(layer {
  name: "data"
  type: "Data"
  top: "data"
  data_param { batch_size: 4 }
}
)",
     kInvalid,
     {"bad.prototxt:5:3: layer 'data': data_param.source is required"}},

    {"mean_file_and_mean_value",
     R"(layer {
  name: "data"
  type: "Data"
  top: "data"
  transform_param {
    mean_file: "m.binaryproto"
    mean_value: 128
  }
  data_param { source: "db" batch_size: 2 }
}
)",
     kInvalid,
     {"bad.prototxt:7:5: layer 'data': transform_param.mean_value", "mean_file"}},

    {"stochastic_pooling",
     R"(layer {
  name: "p"
  type: "Pooling"
  pooling_param {
    pool: STOCHASTIC
    kernel_size: 2
  }
}
)",
     kUnimplemented,
     {"bad.prototxt:5:5: layer 'p': pooling_param.pool", "STOCHASTIC"}},

    {"pooling_pad_not_below_kernel",
     R"(layer {
  name: "p"
  type: "Pooling"
  pooling_param { kernel_size: 2 pad: 2 }
}
)",
     kInvalid,
     {"bad.prototxt:4:34: layer 'p': pooling_param.pad", "kernel (2x2)", "got 2x2"}},

    {"global_pooling_with_kernel",
     R"(layer {
  name: "g"
  type: "Pooling"
  pooling_param {
    global_pooling: true
    kernel_size: 3
  }
}
)",
     kInvalid,
     {"bad.prototxt:5:5: layer 'g': pooling_param.global_pooling", "kernel size"}},

    {"spp_stochastic",
     R"(layer {
  name: "s"
  type: "SPP"
  spp_param {
    pyramid_height: 2
    pool: STOCHASTIC
  }
}
)",
     kUnimplemented,
     {"bad.prototxt:6:5: layer 's': spp_param.pool", "STOCHASTIC"}},

    {"lrn_even_local_size",
     R"(layer {
  name: "n"
  type: "LRN"
  lrn_param { local_size: 4 }
}
)",
     kInvalid,
     {"bad.prototxt:4:15: layer 'n': lrn_param.local_size must be odd", "got 4"}},

    {"accuracy_top_k_zero",
     R"(layer {
  name: "acc"
  type: "Accuracy"
  accuracy_param { top_k: 0 }
}
)",
     kInvalid,
     {"bad.prototxt:4:20: layer 'acc': accuracy_param.top_k must be >= 1, got 0"}},
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

TEST(MalformedLayerTest, EachCaseNamesFileLineFieldAndValue) {
  for (const BadConfig& c : kCases) expect_net_error(c);
}

}  // namespace
}  // namespace banyan
