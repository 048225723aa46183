// Worker groups on CPU workers: 1 worker with batch 4B, 4 groups of B, 1
// group of 2 partitions with 4B and 2 groups x 2 partitions with 2B train
// to the same weights and test results (dropout on, fixed seed); replicas
// stay bitwise equal; snapshots move between layouts; a failing worker
// stops everyone without a hang.  The workers alone: workers_core_test.cc.
#include "engine/workers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "data/datum.h"
#include "data/lmdb.h"
#include "engine/config/loader.h"
#include "engine/core/random.h"
#include "engine/solver.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"
#include "tests/common/watchdog.h"

namespace banyan {
namespace {

using banyan::testing::Watchdog;

constexpr int kRecords = 48;
constexpr int kClasses = 3;
constexpr int kSide = 8;
constexpr int kB = 2;  // the per-group batch of the 4-group layout

// kRecords grey 8x8 images with class-dependent bright halves plus noise;
// record `nan_record` (if >= 0) holds a NaN pixel (float data).
// Record `nan_record` holds a NaN pixel; record `short_record` has one
// value too few for its shape (a bad record).
void write_lmdb(const std::string& path, int nan_record, int short_record = -1) {
  LmdbWriterOptions options;
  options.initial_map_bytes = size_t{1} << 22;
  LmdbWriter writer;
  ASSERT_TRUE(LmdbWriter::open(path, options, &writer).ok());
  const uint64_t key = key_for(5, "workers_test_images");
  for (int r = 0; r < kRecords; ++r) {
    DatumRecord d;
    d.channels = 1;
    d.height = kSide;
    d.width = kSide;
    d.label = r % kClasses;
    d.float_data.resize(kSide * kSide);
    for (int y = 0; y < kSide; ++y) {
      for (int x = 0; x < kSide; ++x) {
        const bool bright = d.label == 0 ? y < kSide / 2 : (d.label == 1 ? x < kSide / 2 : y >= 4);
        const float noise = static_cast<float>(uniform_int_at(key, r, y * kSide + x, 80));
        d.float_data[y * kSide + x] = (bright ? 150.0f : 30.0f) + noise;
      }
    }
    if (r == nan_record) d.float_data[5] = std::nanf("");
    if (r == short_record) d.float_data.pop_back();
    char k[16];
    std::snprintf(k, sizeof(k), "%05d", r);
    ASSERT_TRUE(writer.put(k, serialize_datum(d)).ok());
  }
  ASSERT_TRUE(writer.close().ok());
}

// The data layers of both nets: TRAIN with batch `batch`, TEST with batch 5.
std::string data_layers(const std::string& lmdb, int batch) {
  return R"(
layer { name: "data" type: "Data" top: "data" top: "label" include { phase: TRAIN }
        data_param { source: ")" +
         lmdb + R"(" batch_size: )" + std::to_string(batch) + R"( }
        transform_param { scale: 0.00390625 mirror: true } }
layer { name: "tdata" type: "Data" top: "data" top: "label" include { phase: TEST }
        data_param { source: ")" +
         lmdb + R"(" batch_size: 5 } transform_param { scale: 0.00390625 } }
)";
}

// (i) conv + pool + ip + relu + dropout + ip + softmax loss; one partition.
std::string small_net(const std::string& lmdb, int batch) {
  return "name: \"small\"\n" + data_layers(lmdb, batch) + R"(
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 3 kernel_size: 3
                            weight_filler { type: "gaussian" std: 0.2 }
                            bias_filler { type: "constant" value: 0.1 } } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
        pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip1" type: "InnerProduct" bottom: "pool1" top: "ip1"
        inner_product_param { num_output: 10 weight_filler { type: "gaussian" std: 0.1 }
                              bias_filler { type: "constant" value: 0.05 } } }
layer { name: "relu1" type: "ReLU" bottom: "ip1" top: "ip1" }
layer { name: "drop1" type: "Dropout" bottom: "ip1" top: "ip1" dropout_param { dropout_ratio: 0.3 } }
layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "score"
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 0.1 } } }
layer { name: "acc" type: "Accuracy" bottom: "score" bottom: "label" top: "accuracy"
        include { phase: TEST } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "score" bottom: "label" top: "loss" }
)";
}

// (ii) two columns: A on partition 0, B on partition 1, a Concat of both on
// partition 1, the classifier back on partition 0, accuracy on 1.
std::string two_column_net(const std::string& lmdb, int batch) {
  return "name: \"columns\"\n" + data_layers(lmdb, batch) + R"(
layer { name: "convA" type: "Convolution" bottom: "data" top: "convA" partition: 0
        convolution_param { num_output: 2 kernel_size: 3
                            weight_filler { type: "gaussian" std: 0.2 }
                            bias_filler { type: "constant" value: 0.1 } } }
layer { name: "reluA" type: "ReLU" bottom: "convA" top: "convA" partition: 0 }
layer { name: "poolA" type: "Pooling" bottom: "convA" top: "poolA" partition: 0
        pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "convB" type: "Convolution" bottom: "data" top: "convB" partition: 1
        convolution_param { num_output: 2 kernel_size: 3
                            weight_filler { type: "gaussian" std: 0.2 }
                            bias_filler { type: "constant" value: 0.1 } } }
layer { name: "reluB" type: "ReLU" bottom: "convB" top: "convB" partition: 1 }
layer { name: "poolB" type: "Pooling" bottom: "convB" top: "poolB" partition: 1
        pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "both" type: "Concat" bottom: "poolA" bottom: "poolB" top: "both" partition: 1 }
layer { name: "ip1" type: "InnerProduct" bottom: "both" top: "ip1" partition: 1
        inner_product_param { num_output: 10 weight_filler { type: "gaussian" std: 0.1 }
                              bias_filler { type: "constant" value: 0.05 } } }
layer { name: "relu1" type: "ReLU" bottom: "ip1" top: "ip1" partition: 1 }
layer { name: "drop1" type: "Dropout" bottom: "ip1" top: "ip1" partition: 1
        dropout_param { dropout_ratio: 0.3 } }
layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "score" partition: 0
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 0.1 } } }
layer { name: "acc" type: "Accuracy" bottom: "score" bottom: "label" top: "accuracy"
        partition: 1 include { phase: TEST } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "score" bottom: "label" top: "loss"
        partition: 0 }
)";
}

// For the failure test: data (partition 0) -> ip (partition 1) -> loss
// (partition 0); nothing on the way turns a NaN input into a number.
std::string fragile_net(const std::string& lmdb, int batch) {
  return "name: \"fragile\"\n" + data_layers(lmdb, batch) + R"(
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "score" partition: 1
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 0.1 } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "score" bottom: "label" top: "loss" }
)";
}

struct Layout {
  int workers;
  int group_size;
  int batch;  // per group
  // Every worker on GPU 0 (repeated ids), TF32 off and deterministic
  // (fixed) convolution algorithms, so no layout gets a less exact
  // algorithm picked by timing for its batch size.
  bool gpu = false;
};

// (a) 1 worker, 4B; (b) 4 groups of B; (c) 1 group of 2 partitions, 4B;
// (d) 2 groups x 2 partitions, 2B.
const Layout kLayouts[] = {{1, 1, 4 * kB}, {4, 1, kB}, {2, 2, 4 * kB}, {4, 2, 2 * kB}};

using Params = std::map<std::string, std::vector<float>>;

class WorkersTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "banyan_workers_XXXXXX");
    ASSERT_NE(mkdtemp(dir_->data()), nullptr);
    write_lmdb(*dir_ + "/lmdb", -1);
    write_lmdb(*dir_ + "/nan_lmdb", 13);
    write_lmdb(*dir_ + "/short_lmdb", -1, 13);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  static SolverConfig solver_config() {
    SolverConfig c;
    c.source_file = "workers_solver.prototxt";
    c.base_lr = 0.05f;
    c.momentum = 0.9f;
    c.weight_decay = 1e-3f;
    c.max_iter = 20;
    c.random_seed = 3;
    c.snapshot_after_train = false;
    c.snapshot_prefix = *dir_ + "/snap";
    c.test_iter = {3};  // 3 batches over 4 groups: uneven on purpose
    return c;
  }

  static std::unique_ptr<Solver> make(
      const std::string& net_text, const Layout& layout,
      const std::function<void(SolverConfig*)>& tweak = nullptr,
      const std::function<void(SolverOptions*)>& options = nullptr) {
    NetConfig net;
    Status s = parse_net_config(net_text, "workers_test.prototxt", &net);
    EXPECT_TRUE(s.ok()) << s.message();
    SolverOptions o;
    o.devices.assign(layout.workers, layout.gpu ? Device::cuda(0) : Device::cpu());
    o.gpu.allow_tf32 = false;
    o.gpu.deterministic = true;
    o.group_size = layout.group_size;
    o.check_replicas = true;
    o.exchange_bucket_bytes = 64;  // many buckets, each sent during backward
    if (options) options(&o);
    std::unique_ptr<Solver> solver;
    SolverConfig c = solver_config();
    if (tweak) tweak(&c);
    s = Solver::create(c, net, o, &solver);
    EXPECT_TRUE(s.ok()) << s.message();
    return solver;
  }

  // The parameters of replica `group`, gathered from its partitions.
  static Params params_of(Solver& solver, int group) {
    Params out;
    Workers& w = solver.workers();
    for (int k = 0; k < w.group_size(); ++k) {
      for (const NetParam& p : solver.train_net(w.worker_index(group, k)).params()) {
        std::vector<float>& v = out[p.name];
        v.resize(static_cast<size_t>(p.blob->count()));
        EXPECT_TRUE(copy_to_host(p.master, p.blob->count(), p.blob->device(), v.data()).ok());
      }
    }
    return out;
  }

  static std::string dir() { return *dir_; }
  static std::string* dir_;
};

std::string* WorkersTest::dir_ = nullptr;

// The largest |a - b| over an array divided by the array's largest |a|,
// over all arrays.
double worst_relative_difference(const Params& a, const Params& b) {
  double worst = 0.0;
  for (const auto& [name, x] : a) {
    const std::vector<float>& y = b.at(name);
    double scale = 0.0, diff = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
      scale = std::max(scale, std::fabs(static_cast<double>(x[i])));
      diff = std::max(diff, std::fabs(static_cast<double>(x[i]) - y[i]));
    }
    worst = std::max(worst, scale > 0.0 ? diff / scale : diff);
  }
  return worst;
}

// Every parameter within 1e-5 of the largest magnitude of its array.
void expect_close(const Params& expected, const Params& actual, const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  for (const auto& [name, e] : expected) {
    auto it = actual.find(name);
    ASSERT_NE(it, actual.end()) << what << ": " << name;
    ASSERT_EQ(e.size(), it->second.size()) << what << ": " << name;
    float scale = 0.0f, worst = 0.0f;
    for (size_t i = 0; i < e.size(); ++i) {
      scale = std::max(scale, std::fabs(e[i]));
      worst = std::max(worst, std::fabs(e[i] - it->second[i]));
    }
    EXPECT_LE(worst, 1e-5f * scale) << what << ": parameter " << name;
  }
}

void expect_results_close(const TestResults& a, const TestResults& b, float tolerance) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].size(), b[i].size());
    for (size_t o = 0; o < a[i].size(); ++o) {
      EXPECT_EQ(a[i][o].first, b[i][o].first);
      EXPECT_NEAR(a[i][o].second, b[i][o].second, tolerance * std::max(1.0f, a[i][o].second))
          << a[i][o].first;
    }
  }
}

// Trains every layout for 20 iterations and compares with layout (a).
void check_layouts_agree(const std::function<std::string(int)>& net_text,
                         const std::vector<Layout>& layouts) {
  Watchdog watchdog(120);
  Params reference;
  TestResults reference_initial, reference_final;
  for (const Layout& layout : layouts) {
    const std::string what = std::to_string(layout.workers) + " workers in groups of " +
                             std::to_string(layout.group_size);
    std::unique_ptr<Solver> solver = WorkersTest::make(net_text(layout.batch), layout);
    ASSERT_NE(solver, nullptr) << what;
    TestResults initial, final_results;
    ASSERT_TRUE(solver->test_all(&initial).ok()) << what;
    Status s = solver->step(20);
    ASSERT_TRUE(s.ok()) << what << ": " << s.message();
    ASSERT_TRUE(solver->test_all(&final_results).ok()) << what;
    const int groups = layout.workers / layout.group_size;
    Params replica0 = WorkersTest::params_of(*solver, 0);
    for (int g = 1; g < groups; ++g) {
      EXPECT_TRUE(WorkersTest::params_of(*solver, g) == replica0)
          << what << ": replica " << g << " differs bitwise from replica 0";
    }
    if (reference.empty()) {
      reference = replica0;
      reference_initial = initial;
      reference_final = final_results;
      ASSERT_EQ(initial.size(), 1u);
      ASSERT_EQ(initial[0].size(), 2u);  // accuracy, loss
      EXPECT_LT(final_results[0][1].second, initial[0][1].second) << "the loss must fall";
      continue;
    }
    expect_close(reference, replica0, what);
    expect_results_close(reference_initial, initial, 1e-6f);
    expect_results_close(reference_final, final_results, 1e-4f);
  }
}

TEST_F(WorkersTest, SmallNetSameWeightsForEveryLayout) {
  const std::string lmdb = dir() + "/lmdb";
  // The small net has one partition: with group_size 2 its second worker
  // holds nothing, so layouts (c) and (d) also check empty partitions.
  check_layouts_agree([&](int batch) { return small_net(lmdb, batch); },
                      {std::begin(kLayouts), std::end(kLayouts)});
}

TEST_F(WorkersTest, TwoColumnNetSameWeightsForEveryLayout) {
  const std::string lmdb = dir() + "/lmdb";
  check_layouts_agree([&](int batch) { return two_column_net(lmdb, batch); },
                      {std::begin(kLayouts), std::end(kLayouts)});
}

// The same four layouts with every worker on GPU 0 (repeated device ids:
// own streams and memory per worker, peer copies within one GPU, the GPU
// exchange tree).  Skips without a GPU.
TEST_F(WorkersTest, RepeatedGpuIdsSameWeightsForEveryLayout) {
  BANYAN_SKIP_WITHOUT_GPU();
  const std::string lmdb = dir() + "/lmdb";
  std::vector<Layout> layouts(std::begin(kLayouts), std::end(kLayouts));
  for (Layout& l : layouts) l.gpu = true;
  check_layouts_agree([&](int batch) { return small_net(lmdb, batch); }, layouts);
  check_layouts_agree([&](int batch) { return two_column_net(lmdb, batch); }, layouts);
}

// iter_size accumulation composes with groups and partitions: 2 groups x 2
// partitions of batch B with iter_size 2 train like 1 worker of batch 4B.
TEST_F(WorkersTest, IterSizeWithGroupsMatchesOneWorker) {
  Watchdog watchdog(120);
  const std::string lmdb = dir() + "/lmdb";
  std::unique_ptr<Solver> one = make(two_column_net(lmdb, 4 * kB), {1, 1, 4 * kB});
  std::unique_ptr<Solver> split =
      make(two_column_net(lmdb, kB), {4, 2, kB}, [](SolverConfig* c) { c->iter_size = 2; });
  ASSERT_TRUE(one->step(10).ok());
  Status s = split->step(10);
  ASSERT_TRUE(s.ok()) << s.message();
  expect_close(params_of(*one, 0), params_of(*split, 0), "iter_size 2, 2 x 2 workers");
  EXPECT_NEAR(one->last_loss(), split->last_loss(), 1e-5f);
}

// Gradient clipping uses the norm of the whole replica, summed over its
// partitions: with a threshold that clips every step, one worker, one group
// of 2 partitions and 2 x 2 workers agree (and differ from no clipping).
void check_clipping_spans_partitions(const std::string& lmdb, bool gpu) {
  auto clip = [](SolverConfig* c) { c->clip_gradients = 0.05f; };
  auto layout = [gpu](int workers, int group_size, int batch) {
    Layout l{workers, group_size, batch};
    l.gpu = gpu;
    return l;
  };
  std::unique_ptr<Solver> one =
      WorkersTest::make(two_column_net(lmdb, 4 * kB), layout(1, 1, 4 * kB), clip);
  std::unique_ptr<Solver> unclipped =
      WorkersTest::make(two_column_net(lmdb, 4 * kB), layout(1, 1, 4 * kB));
  std::unique_ptr<Solver> columns =
      WorkersTest::make(two_column_net(lmdb, 4 * kB), layout(2, 2, 4 * kB), clip);
  std::unique_ptr<Solver> split =
      WorkersTest::make(two_column_net(lmdb, 2 * kB), layout(4, 2, 2 * kB), clip);
  ASSERT_TRUE(one->step(10).ok());
  ASSERT_TRUE(unclipped->step(10).ok());
  Status s = columns->step(10);
  ASSERT_TRUE(s.ok()) << s.message();
  s = split->step(10);
  ASSERT_TRUE(s.ok()) << s.message();
  const Params reference = WorkersTest::params_of(*one, 0);
  expect_close(reference, WorkersTest::params_of(*columns, 0), "clipped, 1 x 2 workers");
  expect_close(reference, WorkersTest::params_of(*split, 0), "clipped, 2 x 2 workers");
  EXPECT_FALSE(reference == WorkersTest::params_of(*unclipped, 0)) << "the threshold never clipped";
}

TEST_F(WorkersTest, ClippingSpansPartitions) {
  Watchdog watchdog(120);
  check_clipping_spans_partitions(dir() + "/lmdb", /*gpu=*/false);
}

// The same on GPU workers (repeated ids on GPU 0): the device update path
// sums the partitions' norms on the device.
TEST_F(WorkersTest, ClippingSpansPartitionsOnGpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  Watchdog watchdog(120);
  check_clipping_spans_partitions(dir() + "/lmdb", /*gpu=*/true);
}

// precision: BF16 across worker layouts (CPU): split into partitions the
// replica computes the same roundings as one worker, so the masters agree
// as closely as in FP32; data parallelism rounds each group's gradient
// increment separately before the sum, a difference of BF16's roundoff per
// step, so its masters stay within 1% of one worker's after 10 iterations
// (and much farther from an FP32 run's than that would be if the BF16
// path were off).
TEST_F(WorkersTest, Bf16LayoutsAgree) {
  Watchdog watchdog(120);
  const std::string lmdb = dir() + "/lmdb";
  auto bf16 = [](SolverConfig* c) { c->precision = SolverConfig::Precision::kBFloat16; };
  std::unique_ptr<Solver> one = make(two_column_net(lmdb, 4 * kB), {1, 1, 4 * kB}, bf16);
  std::unique_ptr<Solver> columns = make(two_column_net(lmdb, 4 * kB), {2, 2, 4 * kB}, bf16);
  std::unique_ptr<Solver> groups = make(two_column_net(lmdb, 2 * kB), {2, 1, 2 * kB}, bf16);
  std::unique_ptr<Solver> fp32 = make(two_column_net(lmdb, 4 * kB), {1, 1, 4 * kB});
  for (Solver* s : {one.get(), columns.get(), groups.get(), fp32.get()}) {
    const Status st = s->step(10);
    ASSERT_TRUE(st.ok()) << st.message();
  }
  const Params reference = params_of(*one, 0);
  expect_close(reference, params_of(*columns, 0), "BF16, 1 x 2 workers");
  EXPECT_LT(worst_relative_difference(reference, params_of(*groups, 0)), 1e-2)
      << "BF16, 2 x 1 workers";
  EXPECT_GT(worst_relative_difference(reference, params_of(*fp32, 0)), 0.0) << "BF16 = FP32?";
}

// conv + BatchNorm + Scale + ReLU + ip + softmax loss: BatchNorm's running
// statistics come from each group's own slice of the batch.
std::string batch_norm_net(const std::string& lmdb, int batch) {
  return "name: \"bn\"\n" + data_layers(lmdb, batch) + R"(
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 3 kernel_size: 3 bias_term: false
                            weight_filler { type: "gaussian" std: 0.2 } } }
layer { name: "bn1" type: "BatchNorm" bottom: "conv1" top: "bn1" }
layer { name: "scale1" type: "Scale" bottom: "bn1" top: "scale1" scale_param { bias_term: true } }
layer { name: "relu1" type: "ReLU" bottom: "scale1" top: "scale1" }
layer { name: "ip1" type: "InnerProduct" bottom: "scale1" top: "score"
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 0.1 } } }
layer { name: "acc" type: "Accuracy" bottom: "score" bottom: "label" top: "accuracy"
        include { phase: TEST } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "score" bottom: "label" top: "loss" }
)";
}

// Before a test pass (and a snapshot) every replica's BatchNorm statistics
// become their mean over the groups: replicas then agree bitwise on every
// parameter, the statistics equal the mean taken in double, and the
// learnable parameters are untouched.
TEST_F(WorkersTest, BatchNormStatisticsAveragedOverReplicas) {
  Watchdog watchdog(120);
  std::unique_ptr<Solver> solver =
      WorkersTest::make(batch_norm_net(dir() + "/lmdb", kB), Layout{4, 1, kB});
  ASSERT_NE(solver, nullptr);
  ASSERT_TRUE(solver->step(20).ok());
  std::vector<Params> before;
  for (int g = 0; g < 4; ++g) before.push_back(params_of(*solver, g));
  const std::vector<std::string> stats = {"bn1/0", "bn1/1", "bn1/2"};
  bool differed = false;
  for (const std::string& name : stats) {
    ASSERT_EQ(before[0].count(name), 1u) << name;
    for (int g = 1; g < 4; ++g) differed |= before[g].at(name) != before[0].at(name);
  }
  ASSERT_TRUE(differed) << "each group's slices must give it statistics of its own";
  TestResults results;
  ASSERT_TRUE(solver->test_all(&results).ok());
  const Params after = params_of(*solver, 0);
  for (int g = 1; g < 4; ++g) {
    EXPECT_TRUE(params_of(*solver, g) == after) << "replica " << g << " differs from replica 0";
  }
  for (const auto& [name, values] : after) {
    const bool statistic = std::find(stats.begin(), stats.end(), name) != stats.end();
    for (size_t i = 0; i < values.size(); ++i) {
      if (!statistic) {
        ASSERT_EQ(values[i], before[0].at(name)[i]) << name << " is learnable: left alone";
        continue;
      }
      double sum = 0.0;
      for (int g = 0; g < 4; ++g) sum += before[g].at(name)[i];
      ASSERT_EQ(values[i], static_cast<float>(sum / 4)) << name << "[" << i << "]";
    }
  }
}

TEST_F(WorkersTest, PartitionsHoldOnlyTheirParameters) {
  std::unique_ptr<Solver> solver = make(two_column_net(dir() + "/lmdb", 4), {2, 2, 4});
  ASSERT_NE(solver, nullptr);
  std::vector<std::string> names[2];
  for (int k = 0; k < 2; ++k) {
    for (const NetParam& p : solver->train_net(k).params()) names[k].push_back(p.name);
  }
  EXPECT_EQ(names[0], (std::vector<std::string>{"convA/0", "convA/1", "ip2/0", "ip2/1"}));
  EXPECT_EQ(names[1], (std::vector<std::string>{"convB/0", "convB/1", "ip1/0", "ip1/1"}));
}

// A snapshot of 2 groups x 2 partitions resumes in 1 worker and back, and
// both continue like an uninterrupted run.
TEST_F(WorkersTest, SnapshotsMoveBetweenLayouts) {
  Watchdog watchdog(120);
  const std::string lmdb = dir() + "/lmdb";
  std::unique_ptr<Solver> split = make(two_column_net(lmdb, 2 * kB), {4, 2, 2 * kB});
  ASSERT_TRUE(split->step(6).ok());
  ASSERT_TRUE(split->snapshot().ok());
  const std::string state = dir() + "/snap_iter_6.solverstate";
  std::unique_ptr<Solver> single = make(two_column_net(lmdb, 4 * kB), {1, 1, 4 * kB});
  ASSERT_TRUE(single->restore(state).ok());
  EXPECT_TRUE(params_of(*single, 0) == params_of(*split, 0));
  ASSERT_TRUE(single->step(4).ok());
  ASSERT_TRUE(single->snapshot().ok());
  std::unique_ptr<Solver> back = make(two_column_net(lmdb, 2 * kB), {4, 2, 2 * kB});
  Status s = back->restore(dir() + "/snap_iter_10.solverstate");
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(params_of(*back, 1) == params_of(*single, 0));
  ASSERT_TRUE(split->step(4).ok());
  expect_close(params_of(*split, 0), params_of(*single, 0), "resumed on one worker");
}

// A bad record with bad_record_fatal: the worker whose slice holds it
// fails (rank 0, the data's partition; in the 2 x 2 layout its rank-1
// partner waits in a transfer and the other group's in the exchange), its
// peers are released, and the error names the worker, the LMDB and the key.
TEST_F(WorkersTest, FailingWorkerStopsAllWithoutHang) {
  Watchdog watchdog(60);
  for (const Layout& layout : {Layout{4, 1, kB}, Layout{4, 2, 2 * kB}}) {
    std::string text = fragile_net(dir() + "/short_lmdb", layout.batch);
    const size_t at = text.find("batch_size: " + std::to_string(layout.batch));
    text.insert(at, "bad_record_fatal: true ");
    std::unique_ptr<Solver> solver = make(text, layout);
    ASSERT_NE(solver, nullptr);
    Status s = solver->step(20);
    ASSERT_EQ(s.code(), StatusCode::kDataLoss) << s.to_string();
    for (const char* part : {"worker ", "cpu", "short_lmdb' record '00013'", "bad_record_fatal"}) {
      EXPECT_NE(s.message().find(part), std::string::npos) << part << " in " << s.message();
    }
    // Once failed, the workers refuse to run again instead of hanging.
    EXPECT_FALSE(solver->step(1).ok());
  }
}

// NaN in one record: the step that reads it is not applied.  By default
// training stops there naming the first layer whose output went NaN (the
// data layer, on the worker whose slice holds the record) with every
// replica still finite and equal; with skip_step the update is skipped and
// training goes on.
TEST_F(WorkersTest, NonFiniteStepStopsOrIsSkippedOnEveryReplica) {
  Watchdog watchdog(60);
  for (const Layout& layout : {Layout{4, 1, kB}, Layout{4, 2, 2 * kB}}) {
    std::unique_ptr<Solver> solver = make(fragile_net(dir() + "/nan_lmdb", layout.batch), layout);
    ASSERT_NE(solver, nullptr);
    Status s = solver->step(20);
    ASSERT_FALSE(s.ok());
    for (const char* part :
         {"non-finite values at iteration ", "output 'data' of layer 'data' (Data)",
          "NaN at element", "worker ", "no snapshot was written"}) {
      EXPECT_NE(s.message().find(part), std::string::npos) << part << " in " << s.message();
    }
    const int64_t stopped_at = solver->iteration();
    EXPECT_LT(stopped_at, 20);
    const Params replica0 = params_of(*solver, 0);
    for (const auto& [name, values] : replica0) {
      for (float v : values) ASSERT_TRUE(std::isfinite(v)) << name;
    }
    for (int g = 1; g < solver->workers().num_groups(); ++g) {
      EXPECT_TRUE(params_of(*solver, g) == replica0) << "replica " << g;
    }

    std::unique_ptr<Solver> skipping =
        make(fragile_net(dir() + "/nan_lmdb", layout.batch), layout, nullptr,
             [](SolverOptions* o) { o->nan_policy = SolverOptions::NanPolicy::kSkipStep; });
    ASSERT_TRUE(skipping->step(20).ok());  // check_replicas is on
    EXPECT_EQ(skipping->iteration(), 20);
    for (const auto& [name, values] : params_of(*skipping, 0)) {
      for (float v : values) ASSERT_TRUE(std::isfinite(v)) << name;
    }
    // The same run stopped by a limit of one skip.
    std::unique_ptr<Solver> limited =
        make(fragile_net(dir() + "/nan_lmdb", layout.batch), layout, nullptr, [](SolverOptions* o) {
          o->nan_policy = SolverOptions::NanPolicy::kSkipStep;
          o->nan_skip_limit = 1;
        });
    s = limited->step(20);
    EXPECT_NE(s.message().find("nan_skip_limit"), std::string::npos) << s.message();
    EXPECT_EQ(limited->iteration(), stopped_at);
  }
}

// A setup error on partition 1 (Concat of mismatched columns) while
// partition 0 waits in a TransferRecv's setup for partition 1's shape: the
// build fails with the layer's error instead of hanging.
TEST_F(WorkersTest, BuildErrorOnOnePartitionDoesNotHang) {
  Watchdog watchdog(60);
  std::string text = two_column_net(dir() + "/lmdb", kB);
  const std::string b = "name: \"convB\"";
  const size_t at = text.find("kernel_size: 3", text.find(b));
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 14, "kernel_size: 5");
  NetConfig net;
  ASSERT_TRUE(parse_net_config(text, "broken.prototxt", &net).ok());
  SolverOptions o;
  o.devices.assign(4, Device::cpu());
  o.group_size = 2;
  std::unique_ptr<Solver> solver;
  Status s = Solver::create(solver_config(), net, o, &solver);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("layer 'both'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("rank 1)"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace banyan
