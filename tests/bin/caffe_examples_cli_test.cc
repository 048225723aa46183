// Caffe's example nets train through `banyan train`: the CIFAR-10 quick and
// full nets of models/cifar10 (Caffe's files but for the data paths) on a
// learnable synthetic CIFAR-style set converted by convert_cifar, and
// Caffe's MNIST autoencoder file unchanged (tests/fixtures) on 28 x 28
// images.  The solvers are short versions of Caffe's (same types and
// settings, fewer iterations and test batches).
#include <cstdlib>
#include <string>

#include "tests/bin/cli_fixture.h"

namespace banyan {
namespace {

class CaffeExamplesCliTest : public CliFixture {
 protected:
  // out/cifar10/{cifar10_train_lmdb, cifar10_test_lmdb, mean.binaryproto}.
  void make_cifar() {
    fs::create_directories(dir_ + "/out/cifar10");
    for (const auto& [name, count, seed] :
         {std::make_tuple("train", 800, 1), std::make_tuple("test", 200, 2)}) {
      const std::string bin = std::string("out/cifar10/") + name + ".bin";
      RunResult r = run_command(kBin + "convert_cifar --synthetic=" + std::to_string(count) +
                                    " --seed=" + std::to_string(seed) + " " + bin,
                                dir_);
      ASSERT_EQ(r.exit_code, 0) << r.output;
      r = run_command(kBin + "convert_cifar " + bin + " out/cifar10/cifar10_" + name + "_lmdb",
                      dir_);
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    RunResult r = run_command(
        kBin + "compute_mean out/cifar10/cifar10_train_lmdb out/cifar10/mean.binaryproto", dir_);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  // Loss printed at "Iteration <i> (" in a training log; -1 when absent.
  static double loss_at(const std::string& log, int iteration) {
    const size_t at = log.find("Iteration " + std::to_string(iteration) + " (");
    if (at == std::string::npos) return -1.0;
    return std::atof(log.c_str() + log.find("loss = ", at) + 7);
  }

  // The value of the last "<name> = " in the log; -1 when absent.
  static double last_value(const std::string& log, const std::string& name) {
    const size_t at = log.rfind(name + " = ");
    return at == std::string::npos ? -1.0 : std::atof(log.c_str() + at + name.size() + 3);
  }
};

TEST_F(CaffeExamplesCliTest, Cifar10QuickAndFullTrain) {
  make_cifar();
  for (const std::string net : {"quick", "full"}) {
    SCOPED_TRACE(net);
    write_file(dir_ + "/solver_" + net + ".prototxt",
               "net: \"" + kSource + "/models/cifar10/cifar10_" + net +
                   "_train_test.prototxt\"\n"
                   "test_iter: 2\ntest_interval: 60\nbase_lr: 0.002\nmomentum: 0.9\n"
                   "weight_decay: 0.004\nlr_policy: \"fixed\"\ndisplay: 10\nmax_iter: 60\n"
                   "random_seed: 1\nsnapshot_after_train: false\n");
    RunResult r = run_command(kBin + "banyan train --solver=solver_" + net + ".prototxt", dir_);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const double first = loss_at(r.output, 0), last = loss_at(r.output, 50);
    ASSERT_GT(first, 0.0) << r.output;
    EXPECT_GE(last, 0.0) << r.output;  // the synthetic classes are easy: it may reach 0
    EXPECT_LT(last, 0.9 * first) << r.output;
    // Ten classes: chance is 0.1; the last test pass (iteration 60) learnt them.
    EXPECT_GT(last_value(r.output, "accuracy"), 0.5) << r.output;
  }
}

TEST_F(CaffeExamplesCliTest, MnistAutoencoderFileTrainsUnchanged) {
  fs::create_directories(dir_ + "/examples/mnist");
  fs::copy_file(
      std::string(BANYAN_FIXTURES_DIR) + "/caffe/examples/mnist/mnist_autoencoder.prototxt",
      dir_ + "/examples/mnist/mnist_autoencoder.prototxt");
  make_dataset("train", 300, 1, 28, "examples/mnist/mnist_train_lmdb");
  make_dataset("test", 200, 2, 28, "examples/mnist/mnist_test_lmdb");
  // Caffe's mnist_autoencoder_solver.prototxt, shortened.
  write_file(dir_ + "/solver.prototxt", R"(net: "examples/mnist/mnist_autoencoder.prototxt"
test_state: { stage: 'test-on-train' }
test_iter: 2
test_state: { stage: 'test-on-test' }
test_iter: 2
test_interval: 40
test_compute_loss: true
base_lr: 0.01
lr_policy: "step"
gamma: 0.1
stepsize: 10000
display: 10
max_iter: 40
weight_decay: 0.0005
momentum: 0.9
snapshot_after_train: false
)");
  RunResult r = run_command(kBin + "banyan train --solver=solver.prototxt", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double first = loss_at(r.output, 0), last = loss_at(r.output, 30);
  ASSERT_GT(first, 0.0) << r.output;
  EXPECT_LT(last, 0.9 * first) << r.output;
  EXPECT_NE(r.output.find("Testing net (#1)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Test loss: "), std::string::npos) << r.output;
  EXPECT_GT(last_value(r.output, "l2_error"), 0.0) << r.output;
}

}  // namespace
}  // namespace banyan
