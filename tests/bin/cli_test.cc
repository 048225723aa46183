// End-to-end tests of the command-line tools: exit codes and messages for bad
// input, convert_mnist -> banyan train -> test on a small IDX set, snapshots,
// resume through --snapshot (bitwise), stop on SIGTERM, `banyan time`, and the
// shipped models/ configs loading and building.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/config/loader.h"
#include "engine/core/context.h"
#include "engine/evaluate.h"
#include "engine/net.h"
#include "tests/bin/cli_fixture.h"
#include "tests/common/run_command.h"

namespace banyan {
namespace {

class CliTest : public CliFixture {};

TEST_F(CliTest, UsageErrorsExitWithTwo) {
  RunResult r = run_command(kBin + "banyan", dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("banyan <command>"), std::string::npos) << r.output;

  r = run_command(kBin + "banyan frobnicate", dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown command 'frobnicate'"), std::string::npos) << r.output;

  r = run_command(kBin + "banyan train", dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("train needs --solver"), std::string::npos) << r.output;

  r = run_command(kBin + "banyan time --model=x.prototxt --phase=VALIDATE", dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--phase must be TRAIN or TEST, got 'VALIDATE'"), std::string::npos)
      << r.output;
}

TEST_F(CliTest, MissingAndMalformedFilesNameTheFile) {
  RunResult r = run_command(kBin + "banyan train --solver=nowhere/solver.prototxt", dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("nowhere/solver.prototxt"), std::string::npos) << r.output;

  write_file(dir_ + "/bad_solver.prototxt", "net: \"net.prototxt\"\nbase_lr: 0.1\nmax_iter: ten\n");
  r = run_command(kBin + "banyan train --solver=bad_solver.prototxt", dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("bad_solver.prototxt:3:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("max_iter"), std::string::npos) << r.output;

  // The solver loads but its net names an LMDB that does not exist.
  write_net_and_solver(10, 0);
  r = run_command(kBin + "banyan train --solver=solver.prototxt", dir_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("train_lmdb"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Segmentation"), std::string::npos) << r.output;

  make_dataset("train", 64, 1);
  make_dataset("test", 20, 2);
  r = run_command(kBin + "banyan test --model=net.prototxt --weights=missing.banyan", dir_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("missing.banyan"), std::string::npos) << r.output;

  r = run_command(kBin + "banyan train --solver=solver.prototxt --snapshot=snap/none.solverstate",
                  dir_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("snap/none.solverstate"), std::string::npos) << r.output;

  r = run_command(kBin + "convert_mnist no-images no-labels out_lmdb", dir_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("no-images"), std::string::npos) << r.output;
}

TEST_F(CliTest, DevicesThatCannotRunAreRefused) {
  write_net_and_solver(10, 0);
  RunResult r = run_command(
      kBin + "banyan train --solver=solver.prototxt --devices=cpu,cpu,cpu --group_size=2", dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("3 workers"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--group_size=2"), std::string::npos) << r.output;
  r = run_command(kBin + "banyan train --solver=solver.prototxt --group_size=0", dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--group_size must be >= 1"), std::string::npos) << r.output;
  r = run_command(kBin + "banyan time --model=net.prototxt --synthetic --devices=cpu,cpu", dir_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("runs on one worker"), std::string::npos) << r.output;
  r = run_command(kBin + "banyan train --solver=solver.prototxt --devices=gpu7", dir_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("gpu7"), std::string::npos) << r.output;
}

// convert_mnist -> train (snapshots, metrics, progress) -> test; then resume
// from the first snapshot through the CLI and get the same final weights file.
TEST_F(CliTest, TrainTestAndResumeBitwise) {
  make_dataset("train", 256, 1);
  make_dataset("test", 100, 2);
  write_net_and_solver(40, 20);
  RunResult r = run_command(kBin + "banyan train --solver=solver.prototxt", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Iteration 10 ("), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("img/s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Test net output #1: accuracy"), std::string::npos) << r.output;
  for (const char* f : {"snap/q_iter_20.banyan", "snap/q_iter_20.solverstate",
                        "snap/q_iter_40.banyan", "snap/q_iter_40.solverstate"}) {
    EXPECT_TRUE(fs::exists(dir_ + "/" + f)) << f;
  }
  // Metrics: one JSON object per line with train and test entries.
  std::istringstream metrics(read_all(dir_ + "/snap/q_metrics.jsonl"));
  int train_lines = 0, test_lines = 0;
  for (std::string line; std::getline(metrics, line);) {
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.front(), '{') << line;
    EXPECT_EQ(line.back(), '}') << line;
    if (line.find("\"phase\":\"train\"") != std::string::npos) ++train_lines;
    if (line.find("\"phase\":\"test\"") != std::string::npos) ++test_lines;
  }
  EXPECT_EQ(train_lines, 4);  // displays at iterations 0, 10, 20, 30
  EXPECT_GE(test_lines, 2);

  const std::string straight = read_all(dir_ + "/snap/q_iter_40.banyan");
  ASSERT_FALSE(straight.empty());
  r = run_command(
      kBin + "banyan test --model=net.prototxt --weights=snap/q_iter_40.banyan --iterations=5",
      dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const size_t at = r.output.find("accuracy = ");
  ASSERT_NE(at, std::string::npos) << r.output;
  const double accuracy = std::atof(r.output.c_str() + at + 11);
  EXPECT_GT(accuracy, 0.9) << "the quadrant task is easy; training did not learn it\n" << r.output;

  fs::rename(dir_ + "/snap/q_iter_40.banyan", dir_ + "/straight_40.banyan");
  r = run_command(
      kBin + "banyan train --solver=solver.prototxt --snapshot=snap/q_iter_20.solverstate", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("from iteration 20"), std::string::npos) << r.output;
  EXPECT_EQ(read_all(dir_ + "/snap/q_iter_40.banyan"), straight)
      << "10 + resume + 10 differs from 40 straight";
}

// Two groups of two CPU workers train through the CLI, checking replicas.
TEST_F(CliTest, TrainsOnWorkerGroups) {
  make_dataset("train", 64, 1);
  make_dataset("test", 20, 2);
  write_net_and_solver(6, 0);
  RunResult r = run_command(kBin +
                                "banyan train --solver=solver.prototxt --devices=cpu,cpu,cpu,cpu "
                                "--group_size=2 --check_replicas",
                            dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("4 worker(s) in 2 group(s) of 2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("global batch = 2 x"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("worker 3 (cpu, group 1, rank 1)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Optimization done at iteration 6"), std::string::npos) << r.output;
}

// SIGTERM mid-training: a snapshot at the current iteration, exit code 0,
// and the snapshot resumes.  --foreground: without it timeout signals the
// child and then its whole process group, so banyan could see two SIGTERMs,
// and the second ends the process at once by design.
TEST_F(CliTest, SigtermSnapshotsAndExitsCleanly) {
  make_dataset("train", 256, 1);
  make_dataset("test", 100, 2);
  write_net_and_solver(100000000, 0);
  RunResult r = run_command("timeout --foreground --preserve-status -s TERM 3 " + kBin +
                                "banyan train --solver=solver.prototxt",
                            dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("stopped by signal"), std::string::npos) << r.output;
  std::vector<std::string> states;
  for (const auto& e : fs::directory_iterator(dir_ + "/snap")) {
    if (e.path().extension() == ".solverstate") states.push_back(e.path().string());
  }
  ASSERT_EQ(states.size(), 1u) << r.output;
  r = run_command(
      kBin + "banyan train --solver=solver.prototxt --iterations=1 --snapshot=" + states[0], dir_);
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(CliTest, TimePrintsEveryLayer) {
  write_net_and_solver(10, 0);
  RunResult r = run_command(
      kBin +
          "banyan time --model=net.prototxt --synthetic --synthetic_channels=1 --synthetic_size=8 "
          "--iterations=2",
      dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* layer : {"conv", "relu", "pool", "drop", "fc", "loss"}) {
    EXPECT_NE(r.output.find("\n" + std::string(layer) + " "), std::string::npos) << layer << "\n"
                                                                                 << r.output;
  }
  EXPECT_NE(r.output.find("forward+backward"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("images/s on cpu"), std::string::npos) << r.output;
}

// Every shipped config loads, and its nets build (Data layers replaced by
// synthetic inputs so no LMDB is needed).  AlexNet's TRAIN net at batch 256
// is built by `banyan time` in the benchmarks, not here.
TEST(ModelsTest, ShippedConfigsLoadAndBuild) {
  struct Case {
    std::string net;
    Phase phase;
    int channels;
    int size;  // where the Data layer has no crop
  };
  const std::vector<Case> cases = {
      {"models/fashion_mnist/train_val.prototxt", Phase::kTrain, 1, 28},
      {"models/fashion_mnist/train_val.prototxt", Phase::kTest, 1, 28},
      {"models/alexnet/train_val.prototxt", Phase::kTest, 3, 0},
      {"models/alexnet/deploy.prototxt", Phase::kTest, 3, 0},
      {"models/caffenet/train_val.prototxt", Phase::kTest, 3, 0},
      {"models/caffenet/deploy.prototxt", Phase::kTest, 3, 0},
      {"models/alexnet_owt/train_val.prototxt", Phase::kTest, 3, 0},
      {"models/alexnet_2col/train_val.prototxt", Phase::kTest, 3, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.net);
    NetConfig nc;
    Status s = load_net_config(kSource + "/" + c.net, &nc);
    ASSERT_TRUE(s.ok()) << s.message();
    s = use_synthetic_inputs(&nc, c.channels, c.size);
    ASSERT_TRUE(s.ok()) << s.message();
    WorkerContext ctx(Device::cpu(), 1);
    std::unique_ptr<Net> net;
    NetBuildOptions opts;
    opts.phase = c.phase;
    s = Net::create(nc, opts, &ctx, &net);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_GT(net->num_layers(), 3);
  }
  for (const char* solver :
       {"models/fashion_mnist/solver.prototxt", "models/alexnet/solver.prototxt",
        "models/caffenet/solver.prototxt", "models/alexnet_2col/solver.prototxt"}) {
    SCOPED_TRACE(solver);
    SolverConfig sc;
    Status s = load_solver_config(kSource + "/" + solver, &sc);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_FALSE(sc.net.empty());
    EXPECT_TRUE(fs::exists(kSource + "/" + sc.net)) << sc.net;
  }
}

// --stage and --level pick the layers of stage and level rules (test, time).
TEST_F(CliTest, StageAndLevelSelectLayers) {
  write_file(dir_ + "/staged.prototxt", R"(name: "staged"
layer { name: "in" type: "Input" top: "x" include { stage: "small" }
  input_param { shape { dim: 2 dim: 5 } } }
layer { name: "in" type: "Input" top: "x" include { stage: "large" }
  input_param { shape { dim: 7 dim: 5 } } }
layer { name: "extra" type: "ReLU" bottom: "x" top: "y" include { min_level: 2 } }
)");
  RunResult r = run_command(
      kBin + "banyan time --model=staged.prototxt --phase=TEST --stage=large --iterations=1", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("batch 7:"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("extra"), std::string::npos) << r.output;
  r = run_command(kBin +
                      "banyan time --model=staged.prototxt --phase=TEST --stage=small --level=2 "
                      "--iterations=1",
                  dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("batch 2:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("extra"), std::string::npos) << r.output;
  r = run_command(kBin + "banyan time --model=staged.prototxt --phase=TEST --stage=none", dir_);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("has no layers in phase TEST"), std::string::npos) << r.output;
}

// An autoencoder in Caffe's style: one Data layer per phase and test stage,
// Sigmoid codes, SigmoidCrossEntropyLoss on the reconstruction and a
// zero-weighted EuclideanLoss beside it, two test nets chosen by test_state.
// The training loss falls and both test nets report.
TEST_F(CliTest, AutoencoderWithTestStagesTrains) {
  make_dataset("train", 256, 1);
  make_dataset("test", 100, 2);
  std::string data;
  for (const auto& [rule, source] : std::vector<std::pair<std::string, std::string>>{
           {"phase: TRAIN", "train_lmdb"},
           {"phase: TEST stage: 'test-on-train'", "train_lmdb"},
           {"phase: TEST stage: 'test-on-test'", "test_lmdb"}}) {
    data += "layer { name: 'data' type: 'Data' top: 'data' include { " + rule +
            " } transform_param { scale: 0.00390625 } data_param { source: '" + source +
            "' batch_size: 16 } }\n";
  }
  write_file(dir_ + "/ae.prototxt", "name: 'AE'\n" + data + R"(
layer { name: "flatdata" type: "Flatten" bottom: "data" top: "flatdata" }
layer { name: "encode1" type: "InnerProduct" bottom: "data" top: "encode1"
  inner_product_param { num_output: 16 weight_filler { type: "xavier" } } }
layer { name: "encode1neuron" type: "Sigmoid" bottom: "encode1" top: "encode1neuron" }
layer { name: "code" type: "InnerProduct" bottom: "encode1neuron" top: "code"
  inner_product_param { num_output: 4 weight_filler { type: "xavier" } } }
layer { name: "decode1" type: "InnerProduct" bottom: "code" top: "decode1"
  inner_product_param { num_output: 64 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SigmoidCrossEntropyLoss" bottom: "decode1" bottom: "flatdata"
  top: "cross_entropy_loss" loss_weight: 1 }
layer { name: "decode1neuron" type: "Sigmoid" bottom: "decode1" top: "decode1neuron" }
layer { name: "loss" type: "EuclideanLoss" bottom: "decode1neuron" bottom: "flatdata"
  top: "l2_error" loss_weight: 0 }
)");
  write_file(dir_ + "/ae_solver.prototxt", R"(net: "ae.prototxt"
test_state: { stage: "test-on-train" }
test_iter: 4
test_state: { stage: "test-on-test" }
test_iter: 4
test_interval: 100
base_lr: 0.02
momentum: 0.9
lr_policy: "fixed"
display: 20
max_iter: 300
random_seed: 5
)");
  RunResult r = run_command(kBin + "banyan train --solver=ae_solver.prototxt 2>&1", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto loss_at = [&](int iteration) {
    const std::string key = "Iteration " + std::to_string(iteration) + " (";
    const size_t at = r.output.find(key);
    if (at == std::string::npos) return -1.0;
    return std::atof(r.output.c_str() + r.output.find("loss = ", at) + 7);
  };
  const double first = loss_at(0), last = loss_at(280);
  ASSERT_GT(first, 0.0) << r.output;
  ASSERT_GT(last, 0.0) << r.output;
  EXPECT_LT(last, 0.8 * first) << r.output;
  EXPECT_NE(r.output.find("Test net output #0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Testing net (#1)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("l2_error"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace banyan
