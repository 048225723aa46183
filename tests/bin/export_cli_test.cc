// `banyan export` and `banyan classify` end to end on the Fashion-MNIST
// deploy net: exit codes, the ONNX file (parsed back with the subset schema),
// the re-written weights file, and classify's printed top-k against the
// library's Classifier on the same image.
#include <gtest/gtest.h>
#include <png.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/config/loader.h"
#include "engine/export/classify.h"
#include "engine/export/onnx_export.h"
#include "engine/weights_file.h"
#include "onnx_subset.pb.h"
#include "tests/common/run_command.h"

namespace banyan {
namespace {

namespace fs = std::filesystem;

const std::string kBanyan = std::string(BANYAN_BINARY_DIR) + "/bin/banyan";
const std::string kDeploy =
    std::string(BANYAN_SOURCE_DIR) + "/models/fashion_mnist/deploy.prototxt";

using CliRun = banyan::testing::RunResult;

// Runs banyan with `args`.
CliRun run(const std::string& args) { return banyan::testing::run_command(kBanyan + " " + args); }

class ExportCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One folder per test: CTest runs the tests of this file in parallel.
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::string(BANYAN_BINARY_DIR) + "/tests/tmp_cli/export_" + info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_TRUE(load_net_config(kDeploy, &config_).ok());
    ctx_ = std::make_unique<WorkerContext>(Device::cpu(), 3);
    ASSERT_TRUE(build_inference_net(config_, ctx_.get(), &net_).ok());
    weights_ = dir_ + "/w.banyan";
    ASSERT_TRUE(write_weights(weights_, *net_).ok());
  }

  // A 28x28 grey PNG with a diagonal ramp.
  std::string write_png() {
    std::vector<uint8_t> g(28 * 28);
    for (int i = 0; i < 28 * 28; ++i) g[i] = static_cast<uint8_t>((i % 28 + i / 28) * 4);
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    image.width = image.height = 28;
    image.format = PNG_FORMAT_GRAY;
    const std::string path = dir_ + "/img.png";
    EXPECT_TRUE(png_image_write_to_file(&image, path.c_str(), 0, g.data(), 0, nullptr));
    return path;
  }

  std::string dir_, weights_;
  NetConfig config_;
  std::unique_ptr<WorkerContext> ctx_;
  std::unique_ptr<Net> net_;
};

TEST_F(ExportCliTest, ExportWritesOnnxAndWeights) {
  const std::string onnx_path = dir_ + "/m.onnx", out = dir_ + "/copy.banyan";
  CliRun r = run("export --model=" + kDeploy + " --weights=" + weights_ + " --onnx=" + onnx_path +
                 " --weights_out=" + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("opset 17"), std::string::npos) << r.output;
  std::ifstream in(onnx_path, std::ios::binary);
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromIstream(&in));
  ASSERT_EQ(model.graph().output_size(), 1);
  EXPECT_EQ(model.graph().output(0).name(), "prob");
  std::vector<NamedArray> a, b;
  ASSERT_TRUE(read_weights(weights_, &a).ok());
  ASSERT_TRUE(read_weights(out, &b).ok());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].data, b[i].data) << a[i].name;  // bitwise round trip
  }
}

TEST_F(ExportCliTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run("export --model=" + kDeploy + " --weights=" + weights_).exit_code, 2);
  CliRun r = run("export --model=" + kDeploy + " --onnx=" + dir_ + "/x.onnx");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--weights"), std::string::npos) << r.output;
  EXPECT_EQ(run("classify --model=" + kDeploy + " --weights=" + weights_).exit_code, 2);
}

TEST_F(ExportCliTest, WeightsOfAnotherNetAreRefused) {
  NetConfig other;
  ASSERT_TRUE(parse_net_config(R"(
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 28 dim: 28 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 32 kernel_size: 5 pad: 2 bias_term: false } }
)",
                               "other.prototxt", &other)
                  .ok());
  WorkerContext ctx(Device::cpu(), 1);
  std::unique_ptr<Net> net;
  ASSERT_TRUE(build_inference_net(other, &ctx, &net).ok());
  const std::string partial = dir_ + "/partial.banyan";
  ASSERT_TRUE(write_weights(partial, *net).ok());
  CliRun r =
      run("export --model=" + kDeploy + " --weights=" + partial + " --onnx=" + dir_ + "/p.onnx");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("lacks parameters"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fc4/0"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ + "/p.onnx"));
}

TEST_F(ExportCliTest, ClassifyPrintsTheLibrarysTopK) {
  const std::string png = write_png();
  const std::string labels = dir_ + "/labels.txt";
  std::ofstream(labels) << "zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n";
  CliRun r = run("classify --model=" + kDeploy + " --weights=" + weights_ + " --labels=" + labels +
                 " --top_k=3 " + png);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::unique_ptr<Classifier> c;
  ASSERT_TRUE(Classifier::create(config_, net_.get(), "", &c).ok());
  std::vector<std::vector<Prediction>> want;
  ASSERT_TRUE(c->classify({png}, 3, &want).ok());
  const char* names[] = {"zero", "one", "two",   "three", "four",
                         "five", "six", "seven", "eight", "nine"};
  std::string expected = png + "\n";
  for (const Prediction& p : want[0]) {
    char line[128];
    std::snprintf(line, sizeof(line), "  %.4f  %s\n", p.score, names[p.label]);
    expected += line;
  }
  EXPECT_NE(r.output.find(expected), std::string::npos) << r.output << "\nwanted:\n" << expected;
}

}  // namespace
}  // namespace banyan
