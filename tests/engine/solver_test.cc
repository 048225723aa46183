// End-to-end tests of the Solver on a tiny LMDB written here: the loss
// falls, resume is bitwise exact, fine-tuning copies matching layers, every
// update rule learns, iter_size accumulation equals a larger batch, the stop
// flag snapshots and cancels, and the schedule of tests, snapshots and
// metrics lines.
#include "engine/solver.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/datum.h"
#include "data/lmdb.h"
#include "engine/core/bf16.h"
#include "engine/core/random.h"
#include "engine/metrics.h"
#include "tests/common/gpu_compare.h"

namespace banyan {
namespace {

using Type = SolverConfig::Type;

constexpr int kRecords = 60;
constexpr int kClasses = 3;
constexpr int kSide = 6;

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

// kRecords grey 6x6 images: class 0 has a bright top half, class 1 a bright
// bottom half, class 2 a bright left half; plus counter-based noise.
void write_lmdb(const std::string& path) {
  LmdbWriterOptions options;
  options.initial_map_bytes = size_t{1} << 22;
  LmdbWriter writer;
  ASSERT_TRUE(LmdbWriter::open(path, options, &writer).ok());
  const uint64_t key = key_for(11, "solver_test_images");
  for (int r = 0; r < kRecords; ++r) {
    DatumRecord d;
    d.channels = 1;
    d.height = kSide;
    d.width = kSide;
    d.label = r % kClasses;
    d.data.resize(kSide * kSide);
    for (int y = 0; y < kSide; ++y) {
      for (int x = 0; x < kSide; ++x) {
        const bool bright = d.label == 0 ? y < kSide / 2 : (d.label == 1 ? y >= kSide / 2 : x < 3);
        const int noise = static_cast<int>(uniform_int_at(key, r, y * kSide + x, 60));
        d.data[y * kSide + x] = static_cast<char>((bright ? 170 : 20) + noise);
      }
    }
    char k[16];
    std::snprintf(k, sizeof(k), "%05d", r);
    ASSERT_TRUE(writer.put(k, serialize_datum(d)).ok());
  }
  ASSERT_TRUE(writer.close().ok());
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

// Data (random crop 5 + mirror) -> ip1 (12) -> ReLU -> Dropout -> `head` (3)
// -> SoftmaxWithLoss, and Accuracy in TEST.
NetConfig tiny_net(const std::string& lmdb, int batch, const std::string& head = "ip2") {
  NetConfig c;
  c.name = "tiny";
  LayerConfig data = layer("data", "Data", {}, {"data", "label"});
  data.data.source = lmdb;
  data.data.batch_size = batch;
  data.transform.scale = 1.0f / 255;
  data.transform.crop_size = 5;
  data.transform.mirror = true;
  LayerConfig ip1 = layer("ip1", "InnerProduct", {"data"}, {"ip1"});
  ip1.inner_product.num_output = 12;
  ip1.inner_product.weight_filler.type = "gaussian";
  ip1.inner_product.weight_filler.std = 0.1f;
  ip1.inner_product.bias_filler.value = 0.05f;
  LayerConfig relu = layer("relu1", "ReLU", {"ip1"}, {"ip1"});
  LayerConfig drop = layer("drop1", "Dropout", {"ip1"}, {"ip1"});
  drop.dropout.dropout_ratio = 0.2f;
  LayerConfig ip2 = layer(head, "InnerProduct", {"ip1"}, {"score"});
  ip2.inner_product.num_output = kClasses;
  ip2.inner_product.weight_filler.type = "gaussian";
  ip2.inner_product.weight_filler.std = 0.1f;
  ip2.param = {ParamConfig{1.0f, 1.0f}, ParamConfig{2.0f, 0.0f}};
  LayerConfig acc = layer("acc", "Accuracy", {"score", "label"}, {"accuracy"});
  acc.include = {StateRule{Phase::kTest, {}, {}, {}, {}}};
  LayerConfig loss = layer("loss", "SoftmaxWithLoss", {"score", "label"}, {"loss"});
  c.layers = {data, ip1, relu, drop, ip2, acc, loss};
  return c;
}

class SolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "banyan_solver_XXXXXX");
    ASSERT_NE(mkdtemp(dir_->data()), nullptr);
    write_lmdb(*dir_ + "/lmdb");
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  SolverConfig config(Type type = Type::kSgd, float lr = 0.1f) const {
    SolverConfig c;
    c.source_file = "tiny_solver.prototxt";
    c.type = type;
    c.base_lr = lr;
    c.momentum = type == Type::kAdaGrad || type == Type::kRmsProp ? 0.0f : 0.9f;
    c.weight_decay = 1e-3f;
    c.max_iter = 50;
    c.random_seed = 7;
    c.snapshot_after_train = false;
    c.snapshot_prefix =
        *dir_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    c.test_iter = {4};
    c.average_loss = 10;
    return c;
  }

  std::unique_ptr<Solver> make(const SolverConfig& c, int batch = 6,
                               const std::string& head = "ip2", SolverOptions options = {}) {
    std::unique_ptr<Solver> s;
    Status st = Solver::create(c, tiny_net(*dir_ + "/lmdb", batch, head), options, &s);
    EXPECT_TRUE(st.ok()) << st.message();
    return s;
  }

  static std::vector<float> params(Solver& s) {
    Net& n = s.train_net();
    return std::vector<float>(n.param_data(), n.param_data() + n.param_count());
  }

  static std::string* dir_;
};

std::string* SolverTest::dir_ = nullptr;

// Runs 50 iterations; returns (loss of the first, mean loss of the last 10).
std::pair<float, float> first_and_last_loss(Solver& s) {
  EXPECT_TRUE(s.step(1).ok());
  const float first = s.last_loss();
  EXPECT_TRUE(s.step(49).ok());
  return {first, s.smoothed_loss()};
}

TEST_F(SolverTest, SgdLossFallsAndTestAccuracyRises) {
  std::unique_ptr<Solver> s = make(config());
  ASSERT_NE(s, nullptr);
  TestResults before, after;
  ASSERT_TRUE(s->test_all(&before).ok());
  auto [first, last] = first_and_last_loss(*s);
  EXPECT_NEAR(first, std::log(3.0), 0.3);
  EXPECT_LT(last, 0.5f * first) << "first " << first << ", last " << last;
  ASSERT_TRUE(s->test_all(&after).ok());
  ASSERT_EQ(after.size(), 1u);
  ASSERT_EQ(after[0].size(), 2u);  // accuracy, loss
  EXPECT_EQ(after[0][0].first, "accuracy");
  EXPECT_GT(after[0][0].second, 0.8f);
  EXPECT_LT(after[0][1].second, before[0][1].second);
  EXPECT_EQ(s->iteration(), 50);
}

TEST_F(SolverTest, OtherUpdateRulesReduceTheLoss) {
  const std::pair<Type, float> rules[] = {{Type::kNesterov, 0.05f},
                                          {Type::kAdaGrad, 0.1f},
                                          {Type::kAdam, 0.01f},
                                          {Type::kRmsProp, 0.01f},
                                          {Type::kAdaDelta, 1.0f}};
  for (auto [type, lr] : rules) {
    SolverConfig c = config(type, lr);
    // AdaDelta's first steps are sqrt(delta / E[g^2]) * g: Caffe's 1e-8 would
    // crawl for these 50 iterations.
    if (type == Type::kAdaDelta) c.delta = 1e-4f;
    std::unique_ptr<Solver> s = make(c);
    ASSERT_NE(s, nullptr);
    auto [first, last] = first_and_last_loss(*s);
    EXPECT_LT(last, 0.5f * first) << solver_type_name(type) << ": first " << first << ", last "
                                  << last;
  }
}

// 20 iterations straight == 10, snapshot, a fresh solver restored, 10 more.
TEST_F(SolverTest, ResumeIsBitwiseExact) {
  for (Type type : {Type::kSgd, Type::kAdam, Type::kAdaDelta}) {
    SolverConfig c = config(type, type == Type::kSgd ? 0.1f : (type == Type::kAdam ? 0.01f : 1.0f));
    std::unique_ptr<Solver> straight = make(c);
    ASSERT_TRUE(straight->step(20).ok());

    std::unique_ptr<Solver> first = make(c);
    ASSERT_TRUE(first->step(10).ok());
    std::string weights;
    ASSERT_TRUE(first->snapshot(&weights).ok());
    EXPECT_EQ(weights, c.snapshot_prefix + "_iter_10.banyan");
    const std::string state = c.snapshot_prefix + "_iter_10.solverstate";
    ASSERT_TRUE(exists(state));
    first.reset();

    std::unique_ptr<Solver> resumed = make(c);
    const std::vector<float> fresh = params(*resumed);
    Status st = resumed->restore(state);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(resumed->iteration(), 10);
    ASSERT_TRUE(resumed->step(10).ok());
    EXPECT_EQ(resumed->iteration(), 20);
    const std::vector<float> a = params(*straight), b = params(*resumed);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
        << solver_type_name(type) << ": resumed parameters differ";
    EXPECT_NE(a, fresh);
  }
}

// precision: BF16 (CPU workers): bfloat16 activations, float32 labels,
// losses and masters; the loss falls like FP32's and the weights stay close;
// activation memory is about half; resume is bitwise exact; snapshots are
// float32 masters and move freely between precisions.
TEST_F(SolverTest, Bf16TrainsLikeFp32WithFp32Masters) {
  SolverConfig c = config();
  std::unique_ptr<Solver> fp32 = make(c);
  c.precision = SolverConfig::Precision::kBFloat16;
  std::unique_ptr<Solver> bf16 = make(c);
  Net& net = bf16->train_net();
  EXPECT_EQ(net.precision(), DType::kBFloat16);
  EXPECT_EQ(net.blob("data")->dtype(), DType::kBFloat16);
  EXPECT_EQ(net.blob("ip1")->dtype(), DType::kBFloat16);
  EXPECT_EQ(net.blob("label")->dtype(), DType::kFloat32);
  EXPECT_EQ(net.blob("loss")->dtype(), DType::kFloat32);
  EXPECT_EQ(bf16->test_nets()[0]->blob("accuracy")->dtype(), DType::kFloat32);
  // Activations: bfloat16 halves all but the labels and the loss.
  EXPECT_LT(net.activation_bytes(), 0.6 * fp32->train_net().activation_bytes());
  // The compute copy is the master rounded to bfloat16.
  const NetParam* w = net.find_param("ip1/0");
  ASSERT_NE(w, nullptr);
  for (int64_t i = 0; i < w->blob->count(); ++i) {
    ASSERT_EQ(w->blob->data()[i], round_bf16(w->master[i])) << i;
  }
  const auto [fp32_first, fp32_last] = first_and_last_loss(*fp32);
  const auto [bf16_first, bf16_last] = first_and_last_loss(*bf16);
  EXPECT_NEAR(bf16_first, fp32_first, 0.02f);
  EXPECT_LT(bf16_last, 0.5f * bf16_first);
  EXPECT_NEAR(bf16_last, fp32_last, 0.1f);
  for (int64_t i = 0; i < w->blob->count(); ++i) {
    ASSERT_EQ(w->blob->data()[i], round_bf16(w->master[i])) << "after training, " << i;
  }
  // Masters moved off the bfloat16 grid: they are full float32.
  int off_grid = 0;
  for (int64_t i = 0; i < w->blob->count(); ++i) off_grid += w->master[i] != w->blob->data()[i];
  EXPECT_GT(off_grid, w->blob->count() / 2);
  // Close to the FP32 run's weights.
  const std::vector<float> a = params(*fp32), b = params(*bf16);
  double max_diff = 0.0, max_w = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    max_w = std::max(max_w, std::fabs(static_cast<double>(a[i])));
  }
  EXPECT_LT(max_diff, 0.1 * max_w);
  EXPECT_GT(max_diff, 0.0);
}

TEST_F(SolverTest, Bf16ResumesExactlyAndSnapshotsCrossPrecisions) {
  SolverConfig bf = config();
  bf.precision = SolverConfig::Precision::kBFloat16;
  std::unique_ptr<Solver> straight = make(bf);
  ASSERT_TRUE(straight->step(12).ok());
  std::unique_ptr<Solver> first = make(bf);
  ASSERT_TRUE(first->step(6).ok());
  std::string weights;
  ASSERT_TRUE(first->snapshot(&weights).ok());
  const std::vector<float> at6 = params(*first);
  first.reset();
  const std::string state = bf.snapshot_prefix + "_iter_6.solverstate";
  // BF16 -> BF16: bit for bit.
  std::unique_ptr<Solver> resumed = make(bf);
  ASSERT_TRUE(resumed->restore(state).ok());
  EXPECT_EQ(params(*resumed), at6);
  ASSERT_TRUE(resumed->step(6).ok());
  EXPECT_EQ(params(*resumed), params(*straight));
  // BF16 snapshot -> FP32 solver: the float32 masters, then FP32 training.
  SolverConfig fp = config();
  fp.snapshot_prefix = bf.snapshot_prefix;
  std::unique_ptr<Solver> as_fp32 = make(fp);
  Status s = as_fp32->restore(state);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(params(*as_fp32), at6);
  ASSERT_TRUE(as_fp32->step(2).ok());
  // FP32 weights file -> BF16 solver: masters exact, compute copies rounded.
  std::unique_ptr<Solver> fp32_run = make(config());
  ASSERT_TRUE(fp32_run->step(3).ok());
  ASSERT_TRUE(fp32_run->snapshot(&weights).ok());
  std::unique_ptr<Solver> tuned = make(bf);
  ASSERT_TRUE(tuned->load_weights(weights).ok());
  EXPECT_EQ(params(*tuned), params(*fp32_run));
  const NetParam* w = tuned->train_net().find_param("ip2/0");
  for (int64_t i = 0; i < w->blob->count(); ++i) {
    ASSERT_EQ(w->blob->data()[i], round_bf16(w->master[i])) << i;
  }
}

TEST_F(SolverTest, RestoreRejectsAnotherSolverType) {
  std::unique_ptr<Solver> sgd = make(config());
  ASSERT_TRUE(sgd->step(2).ok());
  ASSERT_TRUE(sgd->snapshot().ok());
  std::unique_ptr<Solver> adam = make(config(Type::kAdam, 0.01f));
  Status s = adam->restore(config().snapshot_prefix + "_iter_2.solverstate");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("SGD"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Adam"), std::string::npos) << s.message();
  // A state written for another net (a renamed head) is refused before anything changes.
  std::unique_ptr<Solver> other = make(config(), 6, "head");
  const std::vector<float> before = params(*other);
  s = other->restore(config().snapshot_prefix + "_iter_2.solverstate");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("head/0"), std::string::npos) << s.message();
  EXPECT_EQ(params(*other), before);
  EXPECT_EQ(other->iteration(), 0);
}

TEST_F(SolverTest, FineTuningCopiesMatchingLayers) {
  std::unique_ptr<Solver> base = make(config());
  ASSERT_TRUE(base->step(10).ok());
  std::string weights;
  ASSERT_TRUE(base->snapshot(&weights).ok());
  // Same body, a new head: ip1 comes from the file, the head keeps its init.
  std::unique_ptr<Solver> tuned = make(config(), 6, "head");
  const std::vector<float> head_init(tuned->train_net().find_param("head/0")->blob->data(),
                                     tuned->train_net().find_param("head/0")->blob->data() + 36);
  Status st = tuned->load_weights(weights + "," + weights);
  ASSERT_TRUE(st.ok()) << st.message();
  for (const std::string name : {"ip1/0", "ip1/1"}) {
    const NetParam* a = base->train_net().find_param(name);
    const NetParam* b = tuned->train_net().find_param(name);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(std::memcmp(a->blob->data(), b->blob->data(), a->blob->count() * 4), 0) << name;
  }
  const float* head = tuned->train_net().find_param("head/0")->blob->data();
  EXPECT_EQ(std::vector<float>(head, head + 36), head_init);
  EXPECT_NE(head[0], base->train_net().find_param("ip2/0")->blob->data()[0]);
  // The test net shares the train net's parameters, so it sees the loaded ones.
  EXPECT_EQ(tuned->test_nets()[0]->find_param("ip1/0")->blob->data()[3],
            base->train_net().find_param("ip1/0")->blob->data()[3]);
  EXPECT_EQ(tuned->load_weights(weights + ",").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tuned->load_weights(*dir_ + "/absent.banyan").code(), StatusCode::kNotFound);
}

// iter_size n with batch B equals iter_size 1 with batch nB: the same global
// samples, crops, mirrors and dropout masks, gradients averaged the same way.
// 20 passes need more loss slots than the nets' default of 16.
TEST_F(SolverTest, IterSizeMatchesALargerBatch) {
  for (const auto& [iter_size, batch] : {std::pair{2, 4}, std::pair{20, 2}}) {
    SCOPED_TRACE("iter_size " + std::to_string(iter_size));
    SolverConfig c = config();
    std::unique_ptr<Solver> big = make(c, iter_size * batch);
    c.iter_size = iter_size;
    std::unique_ptr<Solver> accumulated = make(c, batch);
    ASSERT_TRUE(big->step(4).ok());
    ASSERT_TRUE(accumulated->step(4).ok());
    const std::vector<float> a = params(*big), b = params(*accumulated);
    ASSERT_EQ(a.size(), b.size());
    double max_rel = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
      const double scale = std::max({std::fabs(a[i]), std::fabs(b[i]), 1e-2f});
      max_rel = std::max(max_rel, std::fabs(a[i] - b[i]) / scale);
    }
    EXPECT_LT(max_rel, 1e-5);
    EXPECT_NEAR(big->last_loss(), accumulated->last_loss(), 1e-5);
    // Not trivially equal: a different batch order would differ clearly.
    std::unique_ptr<Solver> other = make(config(), batch);
    ASSERT_TRUE(other->step(8).ok());
    EXPECT_NE(params(*other), a);
  }
}

TEST_F(SolverTest, StopFlagSnapshotsAndCancels) {
  std::atomic<bool> stop{false};
  SolverOptions options;
  options.stop_requested = &stop;
  SolverConfig c = config();
  std::unique_ptr<Solver> s = make(c, 6, "ip2", options);
  ASSERT_TRUE(s->step(3).ok());
  stop = true;
  Status st = s->solve();
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  const std::string state = c.snapshot_prefix + "_iter_3.solverstate";
  EXPECT_NE(st.message().find(state), std::string::npos) << st.message();
  EXPECT_TRUE(exists(state));
  EXPECT_TRUE(exists(c.snapshot_prefix + "_iter_3.banyan"));
  EXPECT_EQ(s->iteration(), 3);
}

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

TEST_F(SolverTest, SolveFollowsTheScheduleAndWritesMetrics) {
  SolverConfig c = config();
  c.max_iter = 6;
  c.snapshot = 4;
  c.snapshot_after_train = true;
  c.test_interval = 3;
  c.display = 2;
  SolverOptions options;
  options.metrics_path = c.snapshot_prefix + "_metrics.jsonl";
  std::unique_ptr<Solver> s = make(c, 6, "ip2", options);
  Status st = s->solve();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(s->iteration(), 6);
  EXPECT_TRUE(exists(c.snapshot_prefix + "_iter_4.solverstate"));
  EXPECT_TRUE(exists(c.snapshot_prefix + "_iter_6.solverstate"));
  EXPECT_FALSE(exists(c.snapshot_prefix + "_iter_3.solverstate"));
  std::vector<std::string> train, test;
  for (const std::string& l : lines(options.metrics_path)) {
    ASSERT_EQ(l.front(), '{');
    ASSERT_EQ(l.back(), '}');
    (l.find("\"phase\":\"train\"") != std::string::npos ? train : test).push_back(l);
  }
  ASSERT_EQ(train.size(), 3u);  // iterations 0, 2, 4
  EXPECT_EQ(train[1].rfind("{\"iter\":2,\"phase\":\"train\",\"loss\":", 0), 0u) << train[1];
  EXPECT_NE(train[1].find("\"lr\":0.1,"), std::string::npos) << train[1];
  EXPECT_NE(train[1].find("\"images_per_s\":"), std::string::npos) << train[1];
  EXPECT_NE(train[1].find("\"elapsed_s\":"), std::string::npos) << train[1];
  ASSERT_EQ(test.size(), 3u);  // iterations 0, 3, 6
  EXPECT_EQ(test[2].rfind("{\"iter\":6,\"phase\":\"test\",\"test_net\":0,\"accuracy\":", 0), 0u)
      << test[2];
  EXPECT_NE(test[2].find("\"loss\":"), std::string::npos) << test[2];
}

// test_compute_loss adds the loss-weighted sum of the outputs: here the one
// SoftmaxWithLoss output of weight 1, so total_loss equals it.
TEST_F(SolverTest, TestComputeLossWritesTheWeightedSum) {
  for (bool compute : {false, true}) {
    SolverConfig c = config();
    c.max_iter = 2;
    c.test_interval = 2;
    c.test_compute_loss = compute;
    SolverOptions options;
    options.metrics_path = c.snapshot_prefix + (compute ? "_on" : "_off") + ".jsonl";
    std::unique_ptr<Solver> s = make(c, 6, "ip2", options);
    ASSERT_TRUE(s->solve().ok());
    std::vector<std::string> test;
    for (const std::string& l : lines(options.metrics_path)) {
      if (l.find("\"phase\":\"test\"") != std::string::npos) test.push_back(l);
    }
    ASSERT_EQ(test.size(), 2u);
    for (const std::string& l : test) {
      const size_t at = l.find("\"total_loss\":");
      ASSERT_EQ(at != std::string::npos, compute) << l;
      if (!compute) continue;
      const double total = std::stod(l.substr(at + 13));
      const double loss = std::stod(l.substr(l.find("\"loss\":") + 7));
      EXPECT_NEAR(total, loss, 1e-6 * std::max(1.0, loss)) << l;
      EXPECT_GT(total, 0.0) << l;
    }
  }
}

TEST_F(SolverTest, CreateRejectsWhatItCannotHonour) {
  std::unique_ptr<Solver> s;
  NetConfig net = tiny_net(*dir_ + "/lmdb", 4);
  Status st;
  std::string why;
  if (!testing::gpu_available(&why)) {  // a CUDA worker where there is none
    SolverOptions gpu;
    gpu.device = Device::cuda(0);
    st = Solver::create(config(), net, gpu, &s);
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("cuda:0"), std::string::npos) << st.message();
  }
  SolverConfig c = config();
  c.lr_policy = "step";
  st = Solver::create(c, net, {}, &s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("stepsize"), std::string::npos) << st.message();
  c = config();
  c.snapshot = 10;
  c.snapshot_prefix = *dir_ + "/missing_dir/run";
  st = Solver::create(c, net, {}, &s);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("missing_dir"), std::string::npos) << st.message();
  c = config();
  c.test_iter = {0};
  EXPECT_EQ(Solver::create(c, net, {}, &s).code(), StatusCode::kInvalidArgument);
  c = config();
  c.iter_size = 0;
  st = Solver::create(c, net, {}, &s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("iter_size"), std::string::npos) << st.message();
  EXPECT_EQ(s, nullptr);
}

TEST(MetricsTest, FormatsOneJsonObject) {
  MetricsLine m;
  m.iter = 100;
  m.phase = "train";
  m.values = {{"loss", 0.31}, {"lr", 0.01}, {"na\"me", std::nan("")}};
  EXPECT_EQ(format_metrics_line(m),
            "{\"iter\":100,\"phase\":\"train\",\"loss\":0.31,\"lr\":0.01,\"na\\\"me\":null}");
}

}  // namespace
}  // namespace banyan
