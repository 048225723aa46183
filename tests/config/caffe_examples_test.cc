// Caffe's CIFAR-10 and MNIST autoencoder examples and its other solver types
// (tests/fixtures/caffe/examples) load unchanged: what they contain comes
// through, and the autoencoder builds in each of its three states.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "engine/config/loader.h"
#include "engine/evaluate.h"
#include "engine/net.h"

namespace banyan {
namespace {

const std::string kExamples = std::string(BANYAN_FIXTURES_DIR) + "/caffe/examples/";

const LayerConfig* find(const NetConfig& net, const std::string& name) {
  for (const LayerConfig& l : net.layers) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

TEST(CaffeExamplesTest, Cifar10QuickAndItsSolver) {
  NetConfig net;
  Status s = load_net_config(kExamples + "cifar10/cifar10_quick_train_test.prototxt", &net);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(net.name, "CIFAR10_quick");
  EXPECT_EQ(net.layers.size(), 15u);
  const LayerConfig* ip1 = find(net, "ip1");
  ASSERT_NE(ip1, nullptr);
  EXPECT_EQ(ip1->inner_product.num_output, 64);
  EXPECT_EQ(net.layers[0].transform.mean_file, "examples/cifar10/mean.binaryproto");
  SolverConfig solver;
  s = load_solver_config(kExamples + "cifar10/cifar10_quick_solver.prototxt", &solver);
  ASSERT_TRUE(s.ok()) << s.message();  // snapshot_format: HDF5 is a warning, not an error
  EXPECT_FLOAT_EQ(solver.weight_decay, 0.004f);
  EXPECT_EQ(solver.max_iter, 4000);
  EXPECT_EQ(solver.snapshot_prefix, "examples/cifar10/cifar10_quick");
}

TEST(CaffeExamplesTest, Cifar10FullUsesWithinChannelLrn) {
  NetConfig net;
  Status s = load_net_config(kExamples + "cifar10/cifar10_full_train_test.prototxt", &net);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(net.name, "CIFAR10_full");
  const LayerConfig* norm1 = find(net, "norm1");
  ASSERT_NE(norm1, nullptr);
  EXPECT_EQ(norm1->lrn.local_size, 3);
  EXPECT_EQ(norm1->lrn.norm_region, LrnConfig::NormRegion::kWithinChannel);
  EXPECT_FLOAT_EQ(norm1->lrn.alpha, 5e-05f);
  const LayerConfig* ip1 = find(net, "ip1");
  ASSERT_NE(ip1, nullptr);
  ASSERT_EQ(ip1->param.size(), 2u);
  EXPECT_FLOAT_EQ(ip1->param[0].decay_mult, 250.0f);
  SolverConfig solver;
  s = load_solver_config(kExamples + "cifar10/cifar10_full_solver.prototxt", &solver);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(solver.max_iter, 60000);
  EXPECT_EQ(solver.test_interval, 1000);
}

// Three Data layers told apart by phase and stage; both losses named
// "loss"; sparse gaussian fillers.  Each state builds with one data layer.
TEST(CaffeExamplesTest, MnistAutoencoderBuildsInEachState) {
  NetConfig net;
  Status s = load_net_config(kExamples + "mnist/mnist_autoencoder.prototxt", &net);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(net.name, "MNISTAutoencoder");
  const LayerConfig* encode1 = find(net, "encode1");
  ASSERT_NE(encode1, nullptr);
  EXPECT_EQ(encode1->inner_product.weight_filler.sparse, 15);
  ASSERT_TRUE(use_synthetic_inputs(&net, 1, 28).ok());
  struct Case {
    Phase phase;
    const char* stage;
    int outputs;
  };
  for (const Case& c : {Case{Phase::kTrain, nullptr, 2}, Case{Phase::kTest, "test-on-train", 2},
                        Case{Phase::kTest, "test-on-test", 2}}) {
    SCOPED_TRACE(std::string(phase_name(c.phase)) + " " + (c.stage ? c.stage : ""));
    WorkerContext ctx(Device::cpu(), 1);
    NetBuildOptions opts;
    opts.phase = c.phase;
    if (c.stage != nullptr) opts.state.stages = {c.stage};
    std::unique_ptr<Net> built;
    s = Net::create(net, opts, &ctx, &built);
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_EQ(static_cast<int>(built->outputs().size()), c.outputs);
    float weights = 0.0f;
    for (const NetOutput& o : built->outputs()) weights += o.loss_weight;
    EXPECT_FLOAT_EQ(weights, 1.0f);  // cross entropy 1, l2_error 0
    EXPECT_EQ(built->batch_size(), 100);
  }
}

TEST(CaffeExamplesTest, AutoencoderSolversAndRmsProp) {
  SolverConfig solver;
  Status s =
      load_solver_config(kExamples + "mnist/mnist_autoencoder_solver_adadelta.prototxt", &solver);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(solver.type, SolverConfig::Type::kAdaDelta);
  EXPECT_FLOAT_EQ(solver.momentum, 0.95f);
  EXPECT_FLOAT_EQ(solver.delta, 1e-8f);
  EXPECT_TRUE(solver.test_compute_loss);
  ASSERT_EQ(solver.test_state.size(), 2u);
  ASSERT_EQ(solver.test_iter.size(), 2u);
  EXPECT_EQ(solver.test_state[1].stages, std::vector<std::string>{"test-on-test"});
  EXPECT_EQ(solver.test_iter[0], 500);

  s = load_solver_config(kExamples + "mnist/mnist_autoencoder_solver_adagrad.prototxt", &solver);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(solver.type, SolverConfig::Type::kAdaGrad);
  s = load_solver_config(kExamples + "mnist/mnist_autoencoder_solver.prototxt", &solver);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(solver.type, SolverConfig::Type::kSgd);
  EXPECT_EQ(solver.stepsize, 10000);

  s = load_solver_config(kExamples + "mnist/lenet_solver_rmsprop.prototxt", &solver);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(solver.type, SolverConfig::Type::kRmsProp);
  EXPECT_FLOAT_EQ(solver.rms_decay, 0.98f);
  EXPECT_EQ(solver.lr_policy, "inv");
}

// Caffe's layer types Banyan does not run are refused at load, naming the
// file, line, layer and what to use instead; their parameters still parse.
TEST(CaffeExamplesTest, RefusedCaffeLayersSayWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"type: 'Python' python_param { module: 'm' layer: 'L' param_str: '{}' }",
       "type 'Python' is not supported: runs Python code"},
      {"type: 'LSTM' recurrent_param { num_output: 8 weight_filler { type: 'xavier' } }",
       "type 'LSTM' is not supported: recurrent nets"},
      {"type: 'MemoryData' memory_data_param { batch_size: 4 channels: 1 height: 2 width: 2 }",
       "use an Input layer"},
      {"type: 'WindowData' window_data_param { source: 'w.txt' batch_size: 2 }", "WindowData"},
      {"type: 'HDF5Output' hdf5_output_param { file_name: 'o.h5' }", "banyan test"},
      {"type: 'Parameter' parameter_param { shape { dim: 2 } }", "Scale or Bias"},
      {"type: 'Filter'", "output batch depends on the data"},
      {"type: 'BatchReindex'", "data-dependent index"},
      {"type: 'Im2col'", "use Convolution"},
  };
  for (const auto& [text, message] : cases) {
    NetConfig net;
    Status s = parse_net_config(
        std::string("layer { name: 'in' type: 'Input' top: 'x' }\nlayer { name: 'q' bottom: 'x' "
                    "top: 'y' ") +
            text + " }\n",
        "refused.prototxt", &net);
    EXPECT_EQ(s.code(), StatusCode::kUnimplemented) << text << ": " << s.message();
    EXPECT_EQ(s.message().rfind("refused.prototxt:2:", 0), 0u) << s.message();
    EXPECT_NE(s.message().find("layer 'q'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(message), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace banyan
