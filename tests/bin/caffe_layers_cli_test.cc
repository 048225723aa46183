// The layers added for Caffe's catalogue train together through `banyan
// train`: one net in Caffe's text with PReLU, Bias, MVN, Deconvolution +
// Crop, SPP, Slice + Tile + Concat, Reshape, Swish, Clip, ELU, Power,
// Silence, a HingeLoss and a loss-weighted Reduction beside SoftmaxWithLoss,
// and ArgMax in the TEST net, on the 4-class quadrant set.  The loss must
// fall and the test accuracy rise well above chance (0.25).
#include <cstdlib>
#include <string>

#include "tests/bin/cli_fixture.h"

namespace banyan {
namespace {

constexpr char kNet[] = R"(name: "CaffeLayers"
layer { name: "data" type: "Data" top: "data" top: "label" include { phase: TRAIN }
  transform_param { scale: 0.00390625 } data_param { source: "train_lmdb" batch_size: 16 } }
layer { name: "data" type: "Data" top: "data" top: "label" include { phase: TEST }
  transform_param { scale: 0.00390625 } data_param { source: "test_lmdb" batch_size: 20 } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 6 kernel_size: 3 pad: 1 weight_filler { type: "xavier" } } }
layer { name: "prelu1" type: "PReLU" bottom: "conv1" top: "conv1" }
layer { name: "bias1" type: "Bias" bottom: "conv1" top: "b1" }
layer { name: "mvn1" type: "MVN" bottom: "b1" top: "m1" }
layer { name: "up" type: "Deconvolution" bottom: "m1" top: "up"
  convolution_param { num_output: 4 kernel_size: 4 stride: 2 pad: 1 weight_filler { type: "xavier" } } }
layer { name: "crop" type: "Crop" bottom: "up" bottom: "data" top: "crop" crop_param { offset: 2 } }
layer { name: "swish" type: "Swish" bottom: "crop" top: "sw" }
layer { name: "slice" type: "Slice" bottom: "sw" top: "s_a" top: "s_b" top: "s_unused"
  slice_param { slice_point: 2 slice_point: 3 } }
layer { name: "silence" type: "Silence" bottom: "s_unused" }
layer { name: "tile" type: "Tile" bottom: "s_b" top: "s_bt" tile_param { tiles: 2 } }
layer { name: "cat" type: "Concat" bottom: "s_a" bottom: "s_bt" bottom: "m1" top: "cat" }
layer { name: "clip" type: "Clip" bottom: "cat" top: "clip" clip_param { min: -3 max: 3 } }
layer { name: "spp" type: "SPP" bottom: "clip" top: "spp" spp_param { pyramid_height: 2 pool: MAX } }
layer { name: "elu" type: "ELU" bottom: "spp" top: "elu" }
layer { name: "reshape" type: "Reshape" bottom: "elu" top: "flat" reshape_param { shape { dim: 0 dim: -1 } } }
layer { name: "fc" type: "InnerProduct" bottom: "flat" top: "fc"
  inner_product_param { num_output: 4 weight_filler { type: "xavier" } } }
layer { name: "half" type: "Power" bottom: "fc" top: "half" power_param { scale: 0.5 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" top: "loss" }
layer { name: "hinge" type: "HingeLoss" bottom: "half" bottom: "label" top: "hinge" loss_weight: 0.2 }
layer { name: "l2" type: "Reduction" bottom: "fc" top: "l2" loss_weight: 0.0001
  reduction_param { operation: SUMSQ } }
layer { name: "accuracy" type: "Accuracy" bottom: "fc" bottom: "label" top: "accuracy"
  include { phase: TEST } }
layer { name: "argmax" type: "ArgMax" bottom: "fc" top: "pred" include { phase: TEST } }
)";

class CaffeLayersCliTest : public CliFixture {};

TEST_F(CaffeLayersCliTest, NewLayersTrainTogether) {
  make_dataset("train", 256, 1);
  make_dataset("test", 100, 2);
  write_file(dir_ + "/net.prototxt", kNet);
  write_file(dir_ + "/solver.prototxt",
             "net: \"net.prototxt\"\ntest_iter: 5\ntest_interval: 80\ntest_initialization: true\n"
             "base_lr: 0.05\nmomentum: 0.9\nweight_decay: 0.0005\nlr_policy: \"fixed\"\n"
             "display: 10\nmax_iter: 80\nrandom_seed: 3\nsnapshot_after_train: false\n");
  RunResult r = run_command(kBin + "banyan train --solver=solver.prototxt", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto loss_at = [&](int iteration) {
    const size_t at = r.output.find("Iteration " + std::to_string(iteration) + " (");
    if (at == std::string::npos) return -1.0;
    return std::atof(r.output.c_str() + r.output.find("loss = ", at) + 7);
  };
  const double first = loss_at(0), last = loss_at(70);
  ASSERT_GT(first, 0.0) << r.output;
  ASSERT_GE(last, 0.0) << r.output;
  EXPECT_LT(last, 0.5 * first) << r.output;
  // Test passes at iterations 0 and 80: accuracy from chance to learnt.
  const size_t first_acc = r.output.find("accuracy = ");
  const size_t last_acc = r.output.rfind("accuracy = ");
  ASSERT_NE(first_acc, std::string::npos) << r.output;
  ASSERT_NE(first_acc, last_acc) << r.output;
  EXPECT_GT(std::atof(r.output.c_str() + last_acc + 11), 0.8) << r.output;
  EXPECT_NE(r.output.find("pred = "), std::string::npos) << r.output;  // ArgMax output reported
}

}  // namespace
}  // namespace banyan
