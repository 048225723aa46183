// Caffe's published LeNet and AlexNet configs (tests/fixtures/caffe, byte for
// byte) load unchanged, and what they contain comes through: layer counts per
// phase, window settings, groups, per-blob multipliers, LRN constants, the
// solvers' schedules.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "engine/config/loader.h"

namespace banyan {
namespace {

const std::string kCaffe = std::string(BANYAN_FIXTURES_DIR) + "/caffe/";
const std::string kLenet = kCaffe + "examples/mnist/lenet_train_test.prototxt";
const std::string kLenetSolver = kCaffe + "examples/mnist/lenet_solver.prototxt";
const std::string kAlexTrainVal = kCaffe + "models/bvlc_alexnet/train_val.prototxt";
const std::string kAlexDeploy = kCaffe + "models/bvlc_alexnet/deploy.prototxt";
const std::string kAlexSolver = kCaffe + "models/bvlc_alexnet/solver.prototxt";

int count_in_phase(const NetConfig& net, Phase phase) {
  int n = 0;
  for (const LayerConfig& l : net.layers) n += l.in_phase(phase) ? 1 : 0;
  return n;
}

const LayerConfig& layer(const NetConfig& net, const std::string& name, Phase phase) {
  for (const LayerConfig& l : net.layers) {
    if (l.name == name && l.in_phase(phase)) return l;
  }
  ADD_FAILURE() << "no layer '" << name << "' in phase " << phase_name(phase);
  static const LayerConfig kNone;
  return kNone;
}

// 1-based number of the first line of `path` equal to `line`; 0 if none.
int line_number_of(const std::string& path, const std::string& line) {
  std::ifstream in(path);
  std::string s;
  for (int n = 1; std::getline(in, s); ++n) {
    if (s == line) return n;
  }
  return 0;
}

TEST(CaffeFilesTest, LenetLayersAndPhases) {
  NetConfig net;
  Status s = load_net_config(kLenet, &net);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(net.name, "LeNet");
  EXPECT_EQ(net.source_file, kLenet);
  ASSERT_EQ(net.layers.size(), 11u);
  EXPECT_EQ(count_in_phase(net, Phase::kTrain), 9);
  EXPECT_EQ(count_in_phase(net, Phase::kTest), 10);

  const LayerConfig& train_data = layer(net, "mnist", Phase::kTrain);
  EXPECT_EQ(train_data.type, "Data");
  EXPECT_EQ(train_data.data.batch_size, 64);
  EXPECT_EQ(train_data.data.source, "examples/mnist/mnist_train_lmdb");
  EXPECT_FLOAT_EQ(train_data.transform.scale, 0.00390625f);
  EXPECT_EQ(layer(net, "mnist", Phase::kTest).data.batch_size, 100);

  const LayerConfig& conv1 = layer(net, "conv1", Phase::kTrain);
  EXPECT_EQ(conv1.convolution.num_output, 20);
  EXPECT_EQ(conv1.convolution.kernel_h, 5);
  EXPECT_EQ(conv1.convolution.kernel_w, 5);
  EXPECT_EQ(conv1.convolution.stride_h, 1);
  EXPECT_EQ(conv1.convolution.weight_filler.type, "xavier");
  ASSERT_EQ(conv1.param.size(), 2u);
  EXPECT_FLOAT_EQ(conv1.param[1].lr_mult, 2.0f);
  EXPECT_FLOAT_EQ(conv1.param[1].decay_mult, 1.0f);

  const LayerConfig& pool1 = layer(net, "pool1", Phase::kTrain);
  EXPECT_EQ(pool1.pooling.pool, PoolingConfig::Method::kMax);
  EXPECT_EQ(pool1.pooling.kernel_h, 2);
  EXPECT_EQ(pool1.pooling.stride_w, 2);
  EXPECT_EQ(layer(net, "ip1", Phase::kTrain).inner_product.num_output, 500);
  EXPECT_EQ(layer(net, "ip2", Phase::kTrain).inner_product.num_output, 10);
  EXPECT_EQ(layer(net, "accuracy", Phase::kTest).type, "Accuracy");
  EXPECT_EQ(layer(net, "loss", Phase::kTest).bottom, (std::vector<std::string>{"ip2", "label"}));
}

TEST(CaffeFilesTest, LayerLocationsPointAtTheirBlocks) {
  NetConfig net;
  ASSERT_TRUE(load_net_config(kLenet, &net).ok());
  const int conv1_line = line_number_of(kLenet, "  name: \"conv1\"") - 1;
  const int conv2_line = line_number_of(kLenet, "  name: \"conv2\"") - 1;
  ASSERT_GT(conv1_line, 0);
  const LayerConfig& conv1 = layer(net, "conv1", Phase::kTrain);
  EXPECT_EQ(conv1.location.file, kLenet);
  EXPECT_EQ(conv1.location.line, conv1_line);
  EXPECT_EQ(conv1.location.column, 1);
  EXPECT_EQ(layer(net, "conv2", Phase::kTrain).location.line, conv2_line);
}

TEST(CaffeFilesTest, AlexNetTrainVal) {
  NetConfig net;
  Status s = load_net_config(kAlexTrainVal, &net);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(net.name, "AlexNet");
  ASSERT_EQ(net.layers.size(), 26u);
  EXPECT_EQ(count_in_phase(net, Phase::kTrain), 24);
  EXPECT_EQ(count_in_phase(net, Phase::kTest), 25);

  const LayerConfig& train = layer(net, "data", Phase::kTrain);
  EXPECT_EQ(train.data.batch_size, 256);
  EXPECT_EQ(train.transform.crop_size, 227);
  EXPECT_TRUE(train.transform.mirror);
  EXPECT_EQ(train.transform.mean_file, "data/ilsvrc12/imagenet_mean.binaryproto");
  const LayerConfig& test = layer(net, "data", Phase::kTest);
  EXPECT_EQ(test.data.batch_size, 50);
  EXPECT_FALSE(test.transform.mirror);

  const ConvolutionConfig& conv1 = layer(net, "conv1", Phase::kTrain).convolution;
  EXPECT_EQ(conv1.num_output, 96);
  EXPECT_EQ(conv1.kernel_h, 11);
  EXPECT_EQ(conv1.kernel_w, 11);
  EXPECT_EQ(conv1.stride_h, 4);
  EXPECT_EQ(conv1.stride_w, 4);
  EXPECT_EQ(conv1.pad_h, 0);
  EXPECT_EQ(conv1.group, 1);
  EXPECT_EQ(conv1.weight_filler.type, "gaussian");
  EXPECT_FLOAT_EQ(conv1.weight_filler.std, 0.01f);

  const LayerConfig& conv2 = layer(net, "conv2", Phase::kTrain);
  EXPECT_EQ(conv2.convolution.group, 2);
  EXPECT_EQ(conv2.convolution.pad_w, 2);
  EXPECT_EQ(conv2.convolution.kernel_h, 5);
  EXPECT_FLOAT_EQ(conv2.convolution.bias_filler.value, 0.1f);
  ASSERT_EQ(conv2.param.size(), 2u);
  EXPECT_FLOAT_EQ(conv2.param[0].lr_mult, 1.0f);
  EXPECT_FLOAT_EQ(conv2.param[1].lr_mult, 2.0f);
  EXPECT_FLOAT_EQ(conv2.param[1].decay_mult, 0.0f);
  EXPECT_EQ(layer(net, "conv3", Phase::kTrain).convolution.group, 1);
  EXPECT_EQ(layer(net, "conv4", Phase::kTrain).convolution.group, 2);
  EXPECT_EQ(layer(net, "conv5", Phase::kTrain).convolution.group, 2);

  const LrnConfig& norm1 = layer(net, "norm1", Phase::kTrain).lrn;
  EXPECT_EQ(norm1.local_size, 5);
  EXPECT_FLOAT_EQ(norm1.alpha, 0.0001f);
  EXPECT_FLOAT_EQ(norm1.beta, 0.75f);
  EXPECT_FLOAT_EQ(norm1.k, 1.0f);

  EXPECT_EQ(layer(net, "pool5", Phase::kTrain).pooling.kernel_h, 3);
  EXPECT_FLOAT_EQ(layer(net, "drop6", Phase::kTrain).dropout.dropout_ratio, 0.5f);
  EXPECT_FLOAT_EQ(layer(net, "fc6", Phase::kTrain).inner_product.weight_filler.std, 0.005f);
  EXPECT_EQ(layer(net, "fc8", Phase::kTrain).inner_product.num_output, 1000);
  EXPECT_FALSE(layer(net, "accuracy", Phase::kTest).in_phase(Phase::kTrain));
}

TEST(CaffeFilesTest, AlexNetDeployHasAnInputLayer) {
  NetConfig net;
  Status s = load_net_config(kAlexDeploy, &net);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(net.layers.size(), 24u);
  const LayerConfig& data = net.layers.front();
  EXPECT_EQ(data.type, "Input");
  ASSERT_EQ(data.input.shapes.size(), 1u);
  EXPECT_EQ(data.input.shapes[0], (Shape{10, 3, 227, 227}));
  EXPECT_EQ(layer(net, "conv2", Phase::kTest).convolution.group, 2);
  EXPECT_EQ(net.layers.back().type, "Softmax");
  EXPECT_EQ(count_in_phase(net, Phase::kTrain), 24);
}

TEST(CaffeFilesTest, AlexNetSolver) {
  SolverConfig sc;
  Status s = load_solver_config(kAlexSolver, &sc);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(sc.source_file, kAlexSolver);
  EXPECT_EQ(sc.net, "models/bvlc_alexnet/train_val.prototxt");
  EXPECT_EQ(sc.test_iter, (std::vector<int>{1000}));
  EXPECT_EQ(sc.test_interval, 1000);
  EXPECT_FLOAT_EQ(sc.base_lr, 0.01f);
  EXPECT_EQ(sc.lr_policy, "step");
  EXPECT_FLOAT_EQ(sc.gamma, 0.1f);
  EXPECT_EQ(sc.stepsize, 100000);
  EXPECT_EQ(sc.display, 20);
  EXPECT_EQ(sc.max_iter, 450000);
  EXPECT_FLOAT_EQ(sc.momentum, 0.9f);
  EXPECT_FLOAT_EQ(sc.weight_decay, 0.0005f);
  EXPECT_EQ(sc.snapshot, 10000);
  EXPECT_EQ(sc.snapshot_prefix, "models/bvlc_alexnet/caffe_alexnet_train");
  EXPECT_EQ(sc.type, SolverConfig::Type::kSgd);
  EXPECT_EQ(sc.random_seed, -1);
  EXPECT_EQ(sc.iter_size, 1);
}

TEST(CaffeFilesTest, LenetSolverUsesInvPolicy) {
  SolverConfig sc;
  Status s = load_solver_config(kLenetSolver, &sc);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(sc.net, "examples/mnist/lenet_train_test.prototxt");
  EXPECT_EQ(sc.lr_policy, "inv");
  EXPECT_FLOAT_EQ(sc.gamma, 1e-4f);
  EXPECT_FLOAT_EQ(sc.power, 0.75f);
  EXPECT_FLOAT_EQ(sc.base_lr, 0.01f);
  EXPECT_FLOAT_EQ(sc.momentum, 0.9f);
  EXPECT_FLOAT_EQ(sc.weight_decay, 0.0005f);
  EXPECT_EQ(sc.max_iter, 10000);
  EXPECT_EQ(sc.test_iter, (std::vector<int>{100}));
  EXPECT_EQ(sc.test_interval, 500);
  EXPECT_EQ(sc.snapshot, 5000);
}

// Caffe names nets relative to its source root: from there the path as
// written resolves; from elsewhere both tried paths are named.
TEST(CaffeFilesTest, ResolveNetPathAsWrittenFromTheCaffeRoot) {
  SolverConfig sc;
  ASSERT_TRUE(load_solver_config(kAlexSolver, &sc).ok());
  char* cwd = getcwd(nullptr, 0);
  ASSERT_NE(cwd, nullptr);
  ASSERT_EQ(chdir(kCaffe.c_str()), 0);
  std::string path, elsewhere;
  Status from_root = resolve_net_path(sc, &path);
  ASSERT_EQ(chdir("/"), 0);
  Status s = resolve_net_path(sc, &elsewhere);
  ASSERT_EQ(chdir(cwd), 0);
  free(cwd);
  ASSERT_TRUE(from_root.ok()) << from_root.message();
  EXPECT_EQ(path, "models/bvlc_alexnet/train_val.prototxt");

  ASSERT_EQ(s.code(), StatusCode::kNotFound) << s.message();
  EXPECT_NE(s.message().find("'models/bvlc_alexnet/train_val.prototxt'"), std::string::npos)
      << s.message();
  const std::string beside = kCaffe + "models/bvlc_alexnet/models/bvlc_alexnet/train_val.prototxt";
  EXPECT_NE(s.message().find(beside), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(kAlexSolver), std::string::npos) << s.message();
}

}  // namespace
}  // namespace banyan
