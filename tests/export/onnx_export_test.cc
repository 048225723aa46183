// ONNX export checked against an independent runtime: the exported file runs
// through OpenCV's DNN module (linked into this test only) on the same random
// inputs as Banyan's CPU forward, for the Fashion-MNIST deploy net, an
// AlexNet-shaped net (LRN, groups, ceil pooling) and a net of the remaining
// mapped operators; ONNX's own checker runs where python3 has `onnx`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <opencv2/dnn.hpp>
#include <sstream>

#include "tests/export/export_test_util.h"

namespace banyan {
namespace {

using testing::DeployNet;

constexpr char kAlexNetSmall[] = R"(
name: "AlexNetSmall"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 71 dim: 71 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 16 kernel_size: 11 stride: 4 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "norm1" type: "LRN" bottom: "conv1" top: "norm1"
        lrn_param { local_size: 5 alpha: 0.1 beta: 0.75 } }
layer { name: "pool1" type: "Pooling" bottom: "norm1" top: "pool1"
        pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
        convolution_param { num_output: 32 pad: 2 kernel_size: 5 group: 2 } }
layer { name: "relu2" type: "ReLU" bottom: "conv2" top: "conv2" }
layer { name: "norm2" type: "LRN" bottom: "conv2" top: "norm2"
        lrn_param { local_size: 5 alpha: 0.1 beta: 0.75 k: 2 } }
layer { name: "pool2" type: "Pooling" bottom: "norm2" top: "pool2"
        pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "conv3" type: "Convolution" bottom: "pool2" top: "conv3"
        convolution_param { num_output: 48 pad: 1 kernel_size: 3 } }
layer { name: "relu3" type: "ReLU" bottom: "conv3" top: "conv3" }
layer { name: "conv4" type: "Convolution" bottom: "conv3" top: "conv4"
        convolution_param { num_output: 48 pad: 1 kernel_size: 3 group: 2 } }
layer { name: "relu4" type: "ReLU" bottom: "conv4" top: "conv4" }
layer { name: "conv5" type: "Convolution" bottom: "conv4" top: "conv5"
        convolution_param { num_output: 32 pad: 1 kernel_size: 3 group: 2 } }
layer { name: "relu5" type: "ReLU" bottom: "conv5" top: "conv5" }
layer { name: "pool5" type: "Pooling" bottom: "conv5" top: "pool5"
        pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "fc6" type: "InnerProduct" bottom: "pool5" top: "fc6" inner_product_param { num_output: 64 } }
layer { name: "relu6" type: "ReLU" bottom: "fc6" top: "fc6" }
layer { name: "drop6" type: "Dropout" bottom: "fc6" top: "fc6" dropout_param { dropout_ratio: 0.5 } }
layer { name: "fc7" type: "InnerProduct" bottom: "fc6" top: "fc7" inner_product_param { num_output: 64 } }
layer { name: "relu7" type: "ReLU" bottom: "fc7" top: "fc7" }
layer { name: "drop7" type: "Dropout" bottom: "fc7" top: "fc7" dropout_param { dropout_ratio: 0.5 } }
layer { name: "fc8" type: "InnerProduct" bottom: "fc7" top: "fc8" inner_product_param { num_output: 10 } }
layer { name: "prob" type: "Softmax" bottom: "fc8" top: "prob" }
)";

// AVE pooling (clipped ceil windows without padding; padded windows inside
// the padded input; padded ceil windows running past the padded edge, where
// Caffe's divisor is the clipped window), LeakyReLU, Eltwise SUM with coefficients / PROD / MAX,
// Concat, BatchNorm + Scale folded into a convolution and kept as
// BatchNormalization, a Scale of its own, Flatten, dilation.
// The elementwise layers with an ONNX operator, PReLU and Reshape.
constexpr char kUnaryNet[] = R"(
name: "Unary"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 6 dim: 6 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "sig" type: "Sigmoid" bottom: "conv" top: "sig" }
layer { name: "tanh" type: "TanH" bottom: "conv" top: "tanh" }
layer { name: "abs" type: "AbsVal" bottom: "tanh" top: "abs" }
layer { name: "bnll" type: "BNLL" bottom: "conv" top: "bnll" }
layer { name: "elu" type: "ELU" bottom: "conv" top: "elu" elu_param { alpha: 0.7 } }
layer { name: "prelu" type: "PReLU" bottom: "elu" top: "prelu"
        prelu_param { filler { type: "gaussian" std: 0.5 } } }
layer { name: "cat" type: "Concat" bottom: "sig" bottom: "abs" bottom: "bnll" bottom: "prelu"
        top: "cat" }
layer { name: "reshape" type: "Reshape" bottom: "cat" top: "flat"
        reshape_param { shape { dim: 0 dim: -1 } } }
layer { name: "fc" type: "InnerProduct" bottom: "flat" top: "fc" inner_product_param { num_output: 5 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
)";

// Swish, Power, Exp, Log, Bias (folded into the convolution before it),
// LRN within channels, Deconvolution, Crop and Silence.
constexpr char kChainNet[] = R"(
name: "Chains"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "tanh" type: "TanH" bottom: "conv" top: "th" }
layer { name: "bias_th" type: "Bias" bottom: "th" top: "bt"
        bias_param { filler { type: "gaussian" std: 0.5 } } }
layer { name: "swish" type: "Swish" bottom: "conv" top: "sw" swish_param { beta: 1.3 } }
layer { name: "power" type: "Power" bottom: "sw" top: "pw" power_param { power: 2 scale: 0.5 shift: 1 } }
layer { name: "exp" type: "Exp" bottom: "conv" top: "ex" exp_param { base: 2 scale: 0.3 shift: -0.1 } }
layer { name: "log" type: "Log" bottom: "ex" top: "lg" log_param { base: 10 shift: 0.5 } }
layer { name: "conv_b" type: "Convolution" bottom: "data" top: "cb"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "bias" type: "Bias" bottom: "cb" top: "bi"
        bias_param { filler { type: "gaussian" std: 0.5 } } }
layer { name: "lrnw" type: "LRN" bottom: "bi" top: "ln"
        lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 norm_region: WITHIN_CHANNEL } }
layer { name: "deconv" type: "Deconvolution" bottom: "conv" top: "dc"
        convolution_param { num_output: 3 kernel_size: 4 stride: 2 pad: 1 } }
layer { name: "crop" type: "Crop" bottom: "dc" bottom: "data" top: "cr" crop_param { axis: 2 offset: 3 } }
layer { name: "side" type: "Sigmoid" bottom: "conv" top: "side" }
layer { name: "silence" type: "Silence" bottom: "side" }
layer { name: "cat" type: "Concat" bottom: "bt" bottom: "pw" bottom: "lg" bottom: "ln" bottom: "cr"
        top: "cat" }
layer { name: "fc" type: "InnerProduct" bottom: "cat" top: "fc" inner_product_param { num_output: 5 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
)";

// Slice (Slice nodes), Tile (Concat), ArgMax (ArgMax + Cast) and the four
// Reductions; several graph outputs.
constexpr char kShapeNet[] = R"(
name: "Shapes"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "slice" type: "Slice" bottom: "conv" top: "s0" top: "s1" top: "s2"
        slice_param { axis: 1 slice_point: 1 slice_point: 3 } }
layer { name: "tile" type: "Tile" bottom: "s1" top: "tiled" tile_param { axis: 2 tiles: 3 } }
layer { name: "argmax" type: "ArgMax" bottom: "conv" top: "am" argmax_param { axis: 1 } }
layer { name: "rsum" type: "Reduction" bottom: "s0" top: "rs" reduction_param { axis: 2 coeff: -2 } }
layer { name: "rasum" type: "Reduction" bottom: "s2" top: "ra"
        reduction_param { axis: 1 operation: ASUM coeff: 0.5 } }
layer { name: "rsq" type: "Reduction" bottom: "tiled" top: "rq" reduction_param { axis: 2 operation: SUMSQ } }
layer { name: "rmean" type: "Reduction" bottom: "conv" top: "rm"
        reduction_param { axis: -1 operation: MEAN } }
)";

constexpr char kOpsNet[] = R"(
name: "Ops"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 4 dim: 10 dim: 10 } } }
layer { name: "conv_a" type: "Convolution" bottom: "data" top: "a"
        convolution_param { num_output: 6 kernel_size: 3 pad: 1 } }
layer { name: "bn_a" type: "BatchNorm" bottom: "a" top: "a_bn" }
layer { name: "sc_a" type: "Scale" bottom: "a_bn" top: "a_sc" scale_param { bias_term: true } }
layer { name: "lrelu" type: "ReLU" bottom: "a_sc" top: "a_sc" relu_param { negative_slope: 0.1 } }
layer { name: "avg_same" type: "Pooling" bottom: "a_sc" top: "avg_same"
        pooling_param { pool: AVE kernel_size: 3 stride: 1 pad: 1 } }
layer { name: "conv_b" type: "Convolution" bottom: "data" top: "b"
        convolution_param { num_output: 6 kernel_size: 3 pad: 1 } }
layer { name: "conv_c" type: "Convolution" bottom: "data" top: "c"
        convolution_param { num_output: 6 kernel_size: 3 pad: 2 dilation: 2 bias_term: false } }
layer { name: "sum" type: "Eltwise" bottom: "b" bottom: "c" top: "sum"
        eltwise_param { operation: SUM coeff: 0.5 coeff: -2 } }
layer { name: "prod" type: "Eltwise" bottom: "b" bottom: "c" top: "prod" eltwise_param { operation: PROD } }
layer { name: "max" type: "Eltwise" bottom: "sum" bottom: "prod" top: "max" eltwise_param { operation: MAX } }
layer { name: "cat" type: "Concat" bottom: "avg_same" bottom: "max" top: "cat" }
layer { name: "bn_cat" type: "BatchNorm" bottom: "cat" top: "cat_bn" }
layer { name: "sc_cat" type: "Scale" bottom: "cat_bn" top: "cat_sc" scale_param { bias_term: true } }
layer { name: "avg_ceil" type: "Pooling" bottom: "cat_sc" top: "avg_ceil"
        pooling_param { pool: AVE kernel_size: 3 stride: 2 } }
layer { name: "avg_pad_ceil" type: "Pooling" bottom: "cat_sc" top: "avg_pad_ceil"
        pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "sc_only" type: "Scale" bottom: "avg_ceil" top: "scaled" scale_param { bias_term: true } }
layer { name: "flat" type: "Flatten" bottom: "scaled" top: "flat" }
layer { name: "fc" type: "InnerProduct" bottom: "flat" top: "fc" inner_product_param { num_output: 5 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
)";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "banyan_export_" + std::to_string(::getpid()) + "_" + name;
}

// max |a - b| / max |b| over the blob, and the largest element-wise
// |a - b| / |b| among elements with |b| >= 1e-3 max |b|.
struct Diff {
  double rel_to_max = 0.0;
  double rel_elementwise = 0.0;
};

Diff compare(const float* banyan, const cv::Mat& ocv, int64_t n) {
  EXPECT_EQ(static_cast<int64_t>(ocv.total()), n);
  const float* o = ocv.ptr<float>();
  double max_ref = 0.0, max_abs = 0.0;
  for (int64_t i = 0; i < n; ++i) max_ref = std::max(max_ref, std::fabs(double{banyan[i]}));
  Diff d;
  for (int64_t i = 0; i < n; ++i) {
    const double err = std::fabs(double{banyan[i]} - o[i]);
    max_abs = std::max(max_abs, err);
    if (std::fabs(banyan[i]) >= 1e-3 * max_ref) {
      d.rel_elementwise = std::max(d.rel_elementwise, err / std::fabs(banyan[i]));
    }
  }
  d.rel_to_max = max_ref > 0 ? max_abs / max_ref : max_abs;
  return d;
}

// Exports `d`, runs Banyan and OpenCV on the same random input, compares
// the outputs of the named layers (each layer's top has the layer's name).  Returns the ONNX file's
// path.
struct Probe {
  std::string layer;  // OpenCV's layer is "onnx_node!" + this
  std::string blob;   // Banyan's blob holding that layer's output
};

std::string export_and_compare(DeployNet& d, const std::string& file,
                               const std::vector<Probe>& outputs) {
  testing::randomize_params(d, 11);
  Blob* input = d.net->blob("data");
  const std::vector<float> x = testing::random_input(input, 5);
  d.net->forward();
  const std::string path = temp_path(file);
  OnnxExportReport report;
  Status s = export_onnx_file(d.config, *d.net, path, &report);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return path;
  EXPECT_EQ(report.inputs, std::vector<std::string>{"data"});
  cv::dnn::Net ocv;
  std::vector<cv::Mat> outs;
  try {
    ocv = cv::dnn::readNetFromONNX(path);
    ocv.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    ocv.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    std::vector<int> dims(input->shape().dims().begin(), input->shape().dims().end());
    cv::Mat in(static_cast<int>(dims.size()), dims.data(), CV_32F, const_cast<float*>(x.data()));
    ocv.setInput(in, "data");
    // OpenCV names a layer "onnx_node!" + the node's name (the Caffe layer's).
    std::vector<cv::String> names;
    for (const Probe& o : outputs) names.push_back("onnx_node!" + o.layer);
    ocv.forward(outs, names);
  } catch (const cv::Exception& e) {
    ADD_FAILURE() << "OpenCV DNN could not run " << path << ": " << e.what();
    return path;
  }
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Blob* b = d.net->blob(outputs[k].blob);
    const Diff diff = compare(b->data(), outs[k], b->shape().count());
    std::printf("[ %s ] %-8s max|diff|/max|ref| = %.3g, element-wise max rel = %.3g\n",
                d.config.name.c_str(), outputs[k].blob.c_str(), diff.rel_to_max,
                diff.rel_elementwise);
    EXPECT_LE(diff.rel_to_max, 1e-4) << outputs[k].blob;
    // Element-wise on the probabilities; inner blobs hold small values
    // that are differences of large sums, where float order shows.
    if (k + 1 == outputs.size()) {
      EXPECT_LE(diff.rel_elementwise, 1e-4) << outputs[k].blob;
    }
  }
  return path;
}

// onnx.checker with full shape inference; "" when it passed, "skip" when
// python3 cannot import onnx, else its output.
// The first of python3 on PATH and Debian's /usr/bin/python3 (where
// python3-onnx installs) that imports onnx; "" when none does.
std::string python_with_onnx() {
  for (const char* py : {"python3", "/usr/bin/python3"}) {
    const std::string cmd = std::string(py) + " -c 'import onnx' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return "";
}

std::string onnx_check(const std::string& path) {
  const std::string py = python_with_onnx();
  if (py.empty()) return "skip";
  const std::string log = path + ".check";
  const std::string cmd = py +
                          " -c 'import onnx, sys; onnx.checker.check_model("
                          "onnx.load(sys.argv[1]), full_check=True)' '" +
                          path + "' >'" + log + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  return rc == 0 ? "" : "exit " + std::to_string(rc) + ": " + read_file(log);
}

// Runs the checker where it exists, then removes the file and the log.
void expect_onnx_check_passes(const std::string& path) {
  const std::string check = onnx_check(path);
  if (check != "skip") {
    EXPECT_EQ(check, "") << path;
  }
  std::remove(path.c_str());
  std::remove((path + ".check").c_str());
}

TEST(OnnxExportTest, FashionMnistDeployMatchesOpenCvDnn) {
  DeployNet d;
  const std::string model =
      std::string(BANYAN_SOURCE_DIR) + "/models/fashion_mnist/deploy.prototxt";
  Status s = testing::make_deploy_net(read_file(model), model, &d);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::string path =
      export_and_compare(d, "fashion.onnx", {{"fc4", "fc4"}, {"prob", "prob"}});
  expect_onnx_check_passes(path);
}

TEST(OnnxExportTest, AlexNetShapedNetMatchesOpenCvDnn) {
  DeployNet d;
  Status s = testing::make_deploy_net(kAlexNetSmall, "alexnet_small.prototxt", &d);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(d.net->blob("pool1")->shape(), (Shape{2, 16, 8, 8}));  // ceil rounding matters
  ASSERT_EQ(d.net->blob("pool2")->shape(), (Shape{2, 32, 4, 4}));
  const std::string path = export_and_compare(d, "alexnet.onnx",
                                              {{"norm1", "norm1"},
                                               {"pool2", "pool2"},
                                               {"pool5", "pool5"},
                                               {"fc8", "fc8"},
                                               {"prob", "prob"}});
  expect_onnx_check_passes(path);
}

TEST(OnnxExportTest, RemainingOperatorsMatchOpenCvDnn) {
  DeployNet d;
  Status s = testing::make_deploy_net(kOpsNet, "ops.prototxt", &d);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::string path = export_and_compare(d, "ops.onnx",
                                              {{"lrelu", "a_sc"},
                                               {"avg_same", "avg_same"},
                                               {"sum", "sum"},
                                               {"prod", "prod"},
                                               {"max", "max"},
                                               {"cat", "cat"},
                                               {"bn_cat", "cat_sc"},
                                               {"avg_ceil", "avg_ceil"},
                                               {"avg_pad_ceil", "avg_pad_ceil"},
                                               {"sc_only", "scaled"},
                                               {"fc", "fc"},
                                               {"prob", "prob"}});
  expect_onnx_check_passes(path);
}

TEST(OnnxExportTest, ElementwisePReluAndReshapeMatchOpenCvDnn) {
  DeployNet d;
  Status s = testing::make_deploy_net(kUnaryNet, "unary.prototxt", &d);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::string path = export_and_compare(d, "unary.onnx",
                                              {{"sig", "sig"},
                                               {"abs", "abs"},
                                               {"bnll", "bnll"},
                                               {"elu", "elu"},
                                               {"prelu", "prelu"},
                                               {"reshape", "flat"},
                                               {"prob", "prob"}});
  expect_onnx_check_passes(path);
}

TEST(OnnxExportTest, OperatorChainsMatchOpenCvDnn) {
  DeployNet d;
  Status s = testing::make_deploy_net(kChainNet, "chains.prototxt", &d);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(d.net->blob("dc")->shape(), (Shape{2, 3, 16, 16}));
  const std::string path = export_and_compare(d, "chains.onnx",
                                              {{"swish", "sw"},
                                               {"power", "pw"},
                                               {"log", "lg"},
                                               {"conv_b", "bi"},
                                               {"bias_th", "bt"},
                                               {"lrnw", "ln"},
                                               {"deconv", "dc"},
                                               {"crop", "cr"},
                                               {"prob", "prob"}});
  expect_onnx_check_passes(path);
}

TEST(OnnxExportTest, SliceTileArgMaxAndReductionsMatchOpenCvDnn) {
  DeployNet d;
  Status s = testing::make_deploy_net(kShapeNet, "shapes.prototxt", &d);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::string path = export_and_compare(d, "shapes.onnx",
                                              {{"slice", "s0"},
                                               {"slice_1", "s1"},
                                               {"slice_2", "s2"},
                                               {"tile", "tiled"},
                                               {"argmax", "am"},
                                               {"rsum", "rs"},
                                               {"rasum", "ra"},
                                               {"rsq", "rq"},
                                               {"rmean", "rm"}});
  expect_onnx_check_passes(path);
}

TEST(OnnxExportTest, OnnxCheckerAvailable) {
  if (python_with_onnx().empty()) {
    GTEST_SKIP() << "python3 cannot import onnx; the checker part of the export tests is skipped";
  }
  SUCCEED();
}

}  // namespace
}  // namespace banyan
