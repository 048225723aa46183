// Tests of the weights and solver-state files: exact round trips, corruption
// detection (CRC, truncation, magic, version), loading into a Net by name,
// and atomic writes.
#include "engine/weights_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace banyan {
namespace {

std::string temp_dir() {
  std::string dir = ::testing::TempDir() + "banyan_weights_XXXXXX";
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  return dir;
}

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

std::string read_all(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_all(const std::string& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

LayerConfig layer(const std::string& name, const std::string& type, std::vector<std::string> bottom,
                  std::vector<std::string> top) {
  LayerConfig l;
  l.name = name;
  l.type = type;
  l.bottom = std::move(bottom);
  l.top = std::move(top);
  return l;
}

// Input (4, 6) -> ip (3 outputs) -> ip2 (2 outputs).
NetConfig small_net(int ip2_outputs = 2) {
  NetConfig c;
  c.name = "small";
  LayerConfig in = layer("in", "Input", {}, {"x"});
  in.input.shapes = {Shape{4, 6}};
  LayerConfig ip = layer("ip", "InnerProduct", {"x"}, {"h"});
  ip.inner_product.num_output = 3;
  ip.inner_product.weight_filler.type = "gaussian";
  ip.inner_product.bias_filler.type = "gaussian";
  LayerConfig ip2 = layer("ip2", "InnerProduct", {"h"}, {"y"});
  ip2.inner_product.num_output = ip2_outputs;
  ip2.inner_product.weight_filler.type = "gaussian";
  c.layers = {in, ip, ip2};
  return c;
}

std::unique_ptr<Net> build(WorkerContext* ctx, int ip2_outputs = 2) {
  std::unique_ptr<Net> net;
  Status s = Net::create(small_net(ip2_outputs), {}, ctx, &net);
  EXPECT_TRUE(s.ok()) << s.message();
  return net;
}

class WeightsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir();
    a_ = {1.5f, -0.0f, std::numeric_limits<float>::denorm_min(), 3.4e38f, -2.25f, 1e-20f};
    b_ = {0.125f, -7.0f, 42.0f};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::vector<ArrayRef> array_refs() const {
    return {{"conv1/0", Shape{2, 3}, a_.data()}, {"conv1/1", Shape{3}, b_.data()}};
  }

  std::string dir_;
  std::vector<float> a_, b_;
};

TEST_F(WeightsFileTest, RoundTripIsBitwiseExact) {
  const std::string p = path("w.banyan");
  ASSERT_TRUE(write_weight_arrays(p, array_refs()).ok());
  EXPECT_FALSE(exists(p + ".tmp"));
  std::vector<NamedArray> got;
  Status s = read_weights(p, &got);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].name, "conv1/0");
  EXPECT_EQ(got[0].shape, (Shape{2, 3}));
  EXPECT_EQ(got[1].name, "conv1/1");
  EXPECT_EQ(got[1].shape, (Shape{3}));
  EXPECT_EQ(std::memcmp(got[0].data.data(), a_.data(), a_.size() * 4), 0);
  EXPECT_EQ(std::memcmp(got[1].data.data(), b_.data(), b_.size() * 4), 0);
  // The header as documented: magic, version 1, count 2.
  const std::string bytes = read_all(p);
  EXPECT_EQ(bytes.substr(0, 8), std::string("BANYANW\0", 8));
  uint32_t version = 0, count = 0;
  std::memcpy(&version, bytes.data() + 8, 4);
  std::memcpy(&count, bytes.data() + 12, 4);
  EXPECT_EQ(version, 1u);
  EXPECT_EQ(count, 2u);
}

TEST_F(WeightsFileTest, FlippedByteIsDataLossNamingTheParameter) {
  const std::string p = path("w.banyan");
  ASSERT_TRUE(write_weight_arrays(p, array_refs()).ok());
  std::string bytes = read_all(p);
  // The second array's data sits just before its 4-byte CRC at the end.
  bytes[bytes.size() - 4 - 5] ^= 0x10;
  write_all(p, bytes);
  std::vector<NamedArray> got;
  Status s = read_weights(p, &got);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("conv1/1"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(p), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("checksum"), std::string::npos) << s.message();
}

TEST_F(WeightsFileTest, TruncatedFileIsDataLoss) {
  const std::string p = path("w.banyan");
  ASSERT_TRUE(write_weight_arrays(p, array_refs()).ok());
  const std::string bytes = read_all(p);
  for (size_t keep : {size_t{4}, size_t{14}, bytes.size() / 2, bytes.size() - 1}) {
    write_all(p, bytes.substr(0, keep));
    std::vector<NamedArray> got;
    Status s = read_weights(p, &got);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << keep << ": " << s.to_string();
    EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(p), std::string::npos) << s.message();
  }
}

TEST_F(WeightsFileTest, WrongMagicOrVersionIsDataLoss) {
  const std::string p = path("w.banyan");
  ASSERT_TRUE(write_weight_arrays(p, array_refs()).ok());
  std::string bytes = read_all(p);
  std::string bad = bytes;
  bad[0] = 'C';
  write_all(p, bad);
  std::vector<NamedArray> got;
  Status s = read_weights(p, &got);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("magic"), std::string::npos) << s.message();
  bad = bytes;
  bad[8] = 7;
  write_all(p, bad);
  s = read_weights(p, &got);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("version 7"), std::string::npos) << s.message();
  EXPECT_EQ(read_weights(path("absent.banyan"), &got).code(), StatusCode::kNotFound);
}

TEST_F(WeightsFileTest, LoadIntoNetMatchesByNameAndIgnoresUnknown) {
  WorkerContext ctx1(Device::cpu(), 1), ctx2(Device::cpu(), 2);
  std::unique_ptr<Net> a = build(&ctx1), b = build(&ctx2);
  ASSERT_NE(a->param_data()[0], b->param_data()[0]);  // different seeds, different weights
  const std::string p = path("net.banyan");
  ASSERT_TRUE(write_weights(p, *a).ok());
  WeightsLoadReport report;
  Status s = load_weights_into(p, b.get(), &report);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(report.loaded.size(), 4u);
  EXPECT_TRUE(report.ignored.empty());
  EXPECT_TRUE(report.missing.empty());
  for (const NetParam& q : a->params()) {
    const NetParam* r = b->find_param(q.name);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(std::memcmp(q.blob->data(), r->blob->data(), q.blob->count() * 4), 0) << q.name;
  }
  // A file holding only ip/0 plus an unknown array: ip/0 loads, the rest is reported.
  std::vector<float> ghost = {1.0f, 2.0f};
  const NetParam* ip0 = a->find_param("ip/0");
  ASSERT_TRUE(write_weight_arrays(p, {{"ip/0", ip0->blob->shape(), ip0->blob->data()},
                                      {"ghost/0", Shape{2}, ghost.data()}})
                  .ok());
  WorkerContext ctx3(Device::cpu(), 3);
  std::unique_ptr<Net> c = build(&ctx3);
  const float ip2_before = c->find_param("ip2/0")->blob->data()[0];
  ASSERT_TRUE(load_weights_into(p, c.get(), &report).ok());
  EXPECT_EQ(report.loaded, std::vector<std::string>{"ip/0"});
  EXPECT_EQ(report.ignored, std::vector<std::string>{"ghost/0"});
  EXPECT_EQ(report.missing, (std::vector<std::string>{"ip/1", "ip2/0", "ip2/1"}));
  EXPECT_EQ(c->find_param("ip/0")->blob->data()[5], ip0->blob->data()[5]);
  EXPECT_EQ(c->find_param("ip2/0")->blob->data()[0], ip2_before);
}

TEST_F(WeightsFileTest, ShapeMismatchNamesParameterShapesAndFile) {
  WorkerContext ctx1(Device::cpu(), 1), ctx2(Device::cpu(), 2);
  std::unique_ptr<Net> a = build(&ctx1, 2), b = build(&ctx2, 5);
  const std::string p = path("net.banyan");
  ASSERT_TRUE(write_weights(p, *a).ok());
  const float before = b->find_param("ip/0")->blob->data()[0];
  Status s = load_weights_into(p, b.get());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("ip2/0"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("(5, 3)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("(2, 3)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(p), std::string::npos) << s.message();
  EXPECT_EQ(b->find_param("ip/0")->blob->data()[0], before);  // nothing copied
}

TEST_F(WeightsFileTest, FailedWritesLeaveNoFileAndKeepTheOldOne) {
  const std::string missing = path("no_such_dir/w.banyan");
  Status s = write_weight_arrays(missing, array_refs());
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();
  EXPECT_FALSE(exists(missing));
  EXPECT_FALSE(exists(missing + ".tmp"));
  // An existing file survives a write that cannot even start.
  const std::string p = path("keep.banyan");
  ASSERT_TRUE(write_weight_arrays(p, array_refs()).ok());
  const std::string old = read_all(p);
  ASSERT_EQ(::mkdir((p + ".tmp").c_str(), 0700), 0);  // blocks the temporary file
  std::vector<float> other = {9.0f};
  EXPECT_FALSE(write_weight_arrays(p, {{"x/0", Shape{1}, other.data()}}).ok());
  EXPECT_EQ(read_all(p), old);
  ::rmdir((p + ".tmp").c_str());
  // A successful rewrite replaces it whole.
  ASSERT_TRUE(write_weight_arrays(p, {{"x/0", Shape{1}, other.data()}}).ok());
  std::vector<NamedArray> got;
  ASSERT_TRUE(read_weights(p, &got).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, other);
  EXPECT_FALSE(exists(p + ".tmp"));
}

TEST_F(WeightsFileTest, SolverStateRoundTrip) {
  const std::string p = path("s.solverstate");
  SolverStateHeader h;
  h.iteration = 1234567890123;
  h.type = SolverConfig::Type::kAdam;
  h.weights_file = "run_iter_10.banyan";
  std::vector<std::vector<ArrayRef>> hist = {array_refs(), {{"conv1/0", Shape{2, 3}, a_.data()}}};
  ASSERT_TRUE(write_solver_state(p, h, hist).ok());
  EXPECT_FALSE(exists(p + ".tmp"));
  SolverStateHeader got;
  std::vector<std::vector<NamedArray>> arrays;
  Status s = read_solver_state(p, &got, &arrays);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(got.iteration, h.iteration);
  EXPECT_EQ(got.type, SolverConfig::Type::kAdam);
  EXPECT_EQ(got.weights_file, h.weights_file);
  ASSERT_EQ(arrays.size(), 2u);
  ASSERT_EQ(arrays[0].size(), 2u);
  ASSERT_EQ(arrays[1].size(), 1u);
  EXPECT_EQ(std::memcmp(arrays[0][1].data.data(), b_.data(), 12), 0);
  EXPECT_EQ(arrays[1][0].shape, (Shape{2, 3}));
  // A weights file is not a state file, and vice versa.
  ASSERT_TRUE(write_weight_arrays(path("w.banyan"), array_refs()).ok());
  s = read_solver_state(path("w.banyan"), &got, &arrays);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("magic"), std::string::npos) << s.message();
  std::vector<NamedArray> w;
  EXPECT_EQ(read_weights(p, &w).code(), StatusCode::kDataLoss);
  // Corrupt history is caught by its checksum.
  std::string bytes = read_all(p);
  bytes[bytes.size() - 6] ^= 0x01;
  write_all(p, bytes);
  s = read_solver_state(p, &got, &arrays);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("conv1/0"), std::string::npos) << s.message();
}

TEST(WeightsFilePathTest, PairedWeightsResolveNextToTheState) {
  EXPECT_EQ(resolve_paired_weights("snap/run_iter_5.solverstate", "run_iter_5.banyan"),
            "snap/run_iter_5.banyan");
  EXPECT_EQ(resolve_paired_weights("run_iter_5.solverstate", "run_iter_5.banyan"),
            "run_iter_5.banyan");
  EXPECT_EQ(resolve_paired_weights("snap/x.solverstate", "/abs/w.banyan"), "/abs/w.banyan");
}

}  // namespace
}  // namespace banyan
