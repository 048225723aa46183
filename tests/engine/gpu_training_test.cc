// A short training run on the GPU tracks the same run on the CPU: both start
// from the same weights (fillers run on the host), read the same synthetic
// inputs and draw the same dropout masks, so with TF32 off the per-iteration
// losses and the final weights agree to float summation order.  Skips
// without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/config/loader.h"
#include "engine/evaluate.h"
#include "engine/solver.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

// Every layer family with GPU code, on 2 x 12 x 12 inputs: grouped conv,
// ReLU, LRN, max and average pooling, inner product, dropout, softmax loss.
constexpr char kNet[] = R"(
name: "gpu_tracks_cpu"
layer { name: "data" type: "Input" top: "data" top: "label"
        input_param { shape { dim: 8 dim: 2 dim: 12 dim: 12 } shape { dim: 8 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 8 kernel_size: 3 pad: 1 group: 2
                            weight_filler { type: "gaussian" std: 0.1 } } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "norm1" type: "LRN" bottom: "conv1" top: "norm1"
        lrn_param { local_size: 3 alpha: 0.0001 beta: 0.75 } }
layer { name: "pool1" type: "Pooling" bottom: "norm1" top: "pool1"
        pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
        convolution_param { num_output: 8 kernel_size: 3 stride: 1
                            weight_filler { type: "xavier" } bias_filler { type: "constant" value: 0.1 } } }
layer { name: "pool2" type: "Pooling" bottom: "conv2" top: "pool2"
        pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
layer { name: "ip1" type: "InnerProduct" bottom: "pool2" top: "ip1"
        inner_product_param { num_output: 16 weight_filler { type: "xavier" } } }
layer { name: "relu2" type: "ReLU" bottom: "ip1" top: "ip1" }
layer { name: "drop1" type: "Dropout" bottom: "ip1" top: "ip1" dropout_param { dropout_ratio: 0.3 } }
layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2"
        inner_product_param { num_output: 4 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" top: "loss" }
)";

constexpr int kIterations = 30;

struct TrainingRun {
  std::vector<float> losses;
  std::vector<float> params;
};

// Trains kNet for kIterations on `device` (SGD with momentum, fixed synthetic
// batch) and records every iteration's loss and the final parameters.
void train(const Device& device, TrainingRun* run) {
  NetConfig net;
  ASSERT_TRUE(parse_net_config(kNet, "gpu_tracks_cpu.prototxt", &net).ok());
  SolverConfig sc;
  sc.base_lr = 0.05f;
  sc.momentum = 0.9f;
  sc.weight_decay = 0.0005f;
  sc.lr_policy = "fixed";
  sc.max_iter = kIterations;
  sc.display = 0;
  sc.random_seed = 7;
  SolverOptions options;
  options.device = device;
  options.gpu.allow_tf32 = false;
  options.gpu.deterministic = true;  // GEMM-class convolutions: a direct sum's rounding
  std::unique_ptr<Solver> solver;
  Status s = Solver::create(sc, net, options, &solver);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(fill_synthetic_inputs(solver->train_net(), 3).ok());
  for (int i = 0; i < kIterations; ++i) {
    s = solver->step(1);
    ASSERT_TRUE(s.ok()) << s.message();
    run->losses.push_back(solver->last_loss());
  }
  Net& n = solver->train_net();
  run->params.resize(static_cast<size_t>(n.param_count()));
  ASSERT_TRUE(
      copy_to_host(n.param_data(), n.param_count(), n.ctx().device(), run->params.data()).ok());
}

TEST(GpuTrainingTest, LossCurveAndWeightsTrackTheCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  TrainingRun cpu, gpu;
  ASSERT_NO_FATAL_FAILURE(train(Device::cpu(), &cpu));
  ASSERT_NO_FATAL_FAILURE(train(Device::cuda(0), &gpu));
  ASSERT_EQ(cpu.losses.size(), gpu.losses.size());
  // The run must learn, or tracking would prove little.
  EXPECT_LT(cpu.losses.back(), 0.7f * cpu.losses.front());
  for (size_t i = 0; i < cpu.losses.size(); ++i) {
    EXPECT_NEAR(gpu.losses[i], cpu.losses[i], 2e-3f * std::fabs(cpu.losses[i]) + 1e-4f)
        << "iteration " << i;
  }
  ASSERT_EQ(cpu.params.size(), gpu.params.size());
  double max_rel = 0.0;
  for (size_t j = 0; j < cpu.params.size(); ++j) {
    const double d = std::fabs(static_cast<double>(gpu.params[j]) - cpu.params[j]);
    max_rel = std::max(max_rel, d / (std::fabs(cpu.params[j]) + 1e-2));
  }
  EXPECT_LT(max_rel, 5e-3) << "largest relative weight difference after " << kIterations
                           << " iterations";
}

}  // namespace
}  // namespace banyan
