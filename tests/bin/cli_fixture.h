// Shared by the command-line test suites: a fresh directory per test, a
// small 4-class IDX set converted with convert_mnist, and a tiny net and
// solver that learn it in a few dozen iterations.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/common/run_command.h"

namespace banyan {

namespace fs = std::filesystem;

inline const std::string kBin = std::string(BANYAN_BINARY_DIR) + "/bin/";
inline const std::string kSource = BANYAN_SOURCE_DIR;

using banyan::testing::run_command;
using banyan::testing::RunResult;

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline void put_big_endian(std::string* s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s->push_back(static_cast<char>((v >> shift) & 0xff));
}

// A fresh directory per test under the build tree.
class CliFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::string(BANYAN_BINARY_DIR) + "/tests/tmp_cli/" + info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  // A 4-class IDX set of side x side images whose class is the bright
  // quadrant, so a tiny net learns it in a few dozen iterations; converted
  // with convert_mnist into <name>_lmdb (or `lmdb` when given).
  void make_dataset(const std::string& name, int count, uint32_t seed, int side = 8,
                    const std::string& lmdb = "") {
    std::string images, labels;
    put_big_endian(&images, 0x00000803);
    put_big_endian(&images, count);
    put_big_endian(&images, side);
    put_big_endian(&images, side);
    put_big_endian(&labels, 0x00000801);
    put_big_endian(&labels, count);
    uint32_t state = seed;
    for (int i = 0; i < count; ++i) {
      const int label = i % 4;
      for (int y = 0; y < side; ++y) {
        for (int x = 0; x < side; ++x) {
          state = state * 1664525u + 1013904223u;
          const int quadrant = (2 * y / side) * 2 + 2 * x / side;
          const int noise = static_cast<int>(state >> 26);  // 0..63
          images.push_back(static_cast<char>(quadrant == label ? 160 + noise : noise));
        }
      }
      labels.push_back(static_cast<char>(label));
    }
    write_file(dir_ + "/" + name + "-images-idx3-ubyte", images);
    write_file(dir_ + "/" + name + "-labels-idx1-ubyte", labels);
    RunResult r = run_command(kBin + "convert_mnist " + name + "-images-idx3-ubyte " + name +
                                  "-labels-idx1-ubyte " + (lmdb.empty() ? name + "_lmdb" : lmdb),
                              dir_);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  void write_net_and_solver(int max_iter, int snapshot) {
    write_file(dir_ + "/net.prototxt", R"(name: "Quadrants"
layer { name: "data" type: "Data" top: "data" top: "label" include { phase: TRAIN }
  transform_param { scale: 0.00390625 }
  data_param { source: "train_lmdb" batch_size: 16 } }
layer { name: "data" type: "Data" top: "data" top: "label" include { phase: TEST }
  transform_param { scale: 0.00390625 }
  data_param { source: "test_lmdb" batch_size: 20 } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "xavier" } } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "drop" type: "Dropout" bottom: "pool" top: "pool" dropout_param { dropout_ratio: 0.2 } }
layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc"
  inner_product_param { num_output: 4 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" top: "loss" }
layer { name: "accuracy" type: "Accuracy" bottom: "fc" bottom: "label" top: "accuracy"
  include { phase: TEST } }
)");
    write_file(dir_ + "/solver.prototxt",
               "net: \"net.prototxt\"\n"
               "test_iter: 5\ntest_interval: 20\n"
               "base_lr: 0.1\nmomentum: 0.9\nweight_decay: 0.0005\n"
               "lr_policy: \"step\"\ngamma: 0.5\nstepsize: 15\n"
               "display: 10\nmax_iter: " +
                   std::to_string(max_iter) + "\nsnapshot: " + std::to_string(snapshot) +
                   "\nsnapshot_prefix: \"snap/q\"\nrandom_seed: 7\n");
    fs::create_directories(dir_ + "/snap");
  }

  std::string dir_;
};

}  // namespace banyan
