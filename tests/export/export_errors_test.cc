// Layers and settings without a faithful ONNX form are refused, naming the
// layer and the reason; the exported graph's structure (folding, removed
// Dropout, opset and IR version) is checked on the serialised model.
#include <gtest/gtest.h>

#include "onnx_subset.pb.h"
#include "tests/export/export_test_util.h"

namespace banyan {
namespace {

const std::string kInput =
    R"(layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 4 dim: 4 } } })";

Status export_text(const std::string& layers, std::string* bytes, OnnxExportReport* report) {
  testing::DeployNet d;
  BANYAN_RETURN_IF_ERROR(testing::make_deploy_net(kInput + layers, "net.prototxt", &d));
  return export_onnx(d.config, *d.net, bytes, report);
}

void expect_refused(const std::string& layers, const std::string& layer, const std::string& why) {
  std::string bytes;
  OnnxExportReport report;
  Status s = export_text(layers, &bytes, &report);
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented) << s.message();
  EXPECT_NE(s.message().find("layer '" + layer + "'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
}

TEST(OnnxExportErrorsTest, PoolingWhoseLastWindowCaffeDropsIsRefused) {
  // H = 4, kernel 2, stride 3, pad 1: ONNX's ceil gives 3 outputs, Caffe drops
  // the window starting in the bottom padding and gives 2.
  expect_refused(R"(layer { name: "pool" type: "Pooling" bottom: "data" top: "pool"
                    pooling_param { pool: MAX kernel_size: 2 stride: 3 pad: 1 } })",
                 "pool", "drops a last window");
}

TEST(OnnxExportErrorsTest, LossAndAccuracyLayersAreRefused) {
  expect_refused(
      R"(layer { name: "label" type: "Input" top: "label" input_param { shape { dim: 1 dim: 4 dim: 4 } } }
                    layer { name: "acc" type: "Accuracy" bottom: "data" bottom: "label" top: "acc" })",
      "acc", "no faithful ONNX form");
}

// Layers with no mapping yet are refused by name and type; Clip with why.
TEST(OnnxExportErrorsTest, LayersWithoutAMappingAreRefusedByName) {
  expect_refused(R"(layer { name: "t" type: "Threshold" bottom: "data" top: "t" })", "t",
                 "layers of type Threshold are not exported yet");
  expect_refused(R"(layer { name: "am" type: "ArgMax" bottom: "data" top: "am"
                                    argmax_param { top_k: 2 axis: 1 } })",
                 "am", "only an explicit axis with top_k 1");
  expect_refused(R"(layer { name: "clip" type: "Clip" bottom: "data" top: "c"
                                    clip_param { min: 0 max: 1 } })",
                 "clip", "Clip is not exported");
  expect_refused(R"(layer { name: "mvn" type: "MVN" bottom: "data" top: "m" })", "mvn",
                 "MVN is not exported");
}

TEST(OnnxExportErrorsTest, PartialFlattenIsRefused) {
  expect_refused(R"(layer { name: "flat" type: "Flatten" bottom: "data" top: "flat"
                    flatten_param { axis: 2 } })",
                 "flat", "axis 1");
}

TEST(OnnxExportErrorsTest, BatchStatisticsAtInferenceAreRefused) {
  expect_refused(R"(layer { name: "bn" type: "BatchNorm" bottom: "data" top: "bn"
                    batch_norm_param { use_global_stats: false } })",
                 "bn", "use_global_stats");
}

TEST(OnnxExportStructureTest, FoldsBatchNormDropsDropoutAndDeclaresOpset17) {
  std::string bytes;
  OnnxExportReport report;
  Status s = export_text(R"(
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 3 kernel_size: 3 bias_term: false } }
layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "bn" }
layer { name: "sc" type: "Scale" bottom: "bn" top: "sc" scale_param { bias_term: true } }
layer { name: "drop" type: "Dropout" bottom: "sc" top: "sc" }
layer { name: "pool" type: "Pooling" bottom: "sc" top: "pool" pooling_param { pool: AVE global_pooling: true } }
)",
                         &bytes, &report);
  ASSERT_TRUE(s.ok()) << s.message();
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(bytes));
  EXPECT_EQ(model.ir_version(), kOnnxIrVersion);
  ASSERT_EQ(model.opset_import_size(), 1);
  EXPECT_EQ(model.opset_import(0).version(), 17);
  std::vector<std::string> ops;
  for (const onnx::NodeProto& n : model.graph().node()) ops.push_back(n.op_type());
  EXPECT_EQ(ops, (std::vector<std::string>{"Conv", "GlobalAveragePool"}));
  const onnx::NodeProto& conv = model.graph().node(0);
  EXPECT_EQ(conv.input_size(), 3);  // the fold adds a bias
  EXPECT_EQ(report.outputs, std::vector<std::string>{"pool"});
  ASSERT_EQ(model.graph().output_size(), 1);
  EXPECT_EQ(model.graph().output(0).type().tensor_type().shape().dim_size(), 4);
}

TEST(OnnxExportStructureTest, PartitionsAreIgnored) {
  const std::string layers = R"(
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 3 kernel_size: 3 weight_filler { type: "xavier" } } PART0 }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" PART1 }
layer { name: "fc" type: "InnerProduct" bottom: "conv" top: "fc"
        inner_product_param { num_output: 2 weight_filler { type: "xavier" } } PART1 }
)";
  auto with = [&](const std::string& p0, const std::string& p1) {
    std::string t = layers;
    t.replace(t.find("PART0"), 5, p0);
    t.replace(t.find("PART1"), 5, p1);
    t.replace(t.find("PART1"), 5, p1);
    return t;
  };
  std::string single, split;
  OnnxExportReport report;
  ASSERT_TRUE(export_text(with("", ""), &single, &report).ok());
  Status s = export_text(with("partition: 0", "partition: 1"), &split, &report);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(single, split);  // same graph, same (seeded) weights
  EXPECT_FALSE(single.empty());
}

}  // namespace
}  // namespace banyan
