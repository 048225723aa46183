// Multi-process training under mpirun (loopback, --oversubscribe): with
// dropout on, 2 processes x 2 CPU groups of batch B, 1 process x 4 groups
// and 1 worker of batch 4B train to the same weights (within 1e-6 of each
// array's largest magnitude after 20 iterations), also for a two-column net
// split over 2 partitions in each process; --check_replicas compares the
// replicas across processes; a snapshot of 2 processes resumes on 3; and a
// rank killed with kill -9, a rank that hangs (SIGSTOP), a rank whose data
// is fatally bad each end every rank within 60 s, non-zero, naming the rank
// and host; SIGINT on the launcher snapshots once.  Skips where mpirun is
// missing or the build has no MPI.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "data/datum.h"
#include "data/lmdb.h"
#include "engine/core/random.h"
#include "engine/weights_file.h"
#include "tests/common/gpu_skip.h"
#include "tests/common/run_command.h"

namespace banyan {
namespace {

namespace fs = std::filesystem;
using banyan::testing::run_command;
using banyan::testing::RunResult;

const std::string kBanyan = std::string(BANYAN_BINARY_DIR) + "/bin/banyan";
const std::string kFailureCase = std::string(BANYAN_SOURCE_DIR) + "/tests/cluster/failure_case.sh";
constexpr int kB = 3;  // per-group batch of the 4-group layouts

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// 48 grey 6x6 images of 3 classes (a bright half per class) plus noise;
// `corrupt` >= 0 replaces that record with bytes that are no Datum.
void write_lmdb(const std::string& path, int corrupt) {
  LmdbWriter writer;
  ASSERT_TRUE(LmdbWriter::open(path, LmdbWriterOptions(), &writer).ok());
  const uint64_t key = key_for(5, "multiprocess_test");
  for (int r = 0; r < 48; ++r) {
    DatumRecord d;
    d.channels = 1;
    d.height = d.width = 6;
    d.label = r % 3;
    for (int y = 0; y < 6; ++y) {
      for (int x = 0; x < 6; ++x) {
        const bool bright = d.label == 0 ? y < 3 : (d.label == 1 ? y >= 3 : x < 3);
        d.data.push_back(
            static_cast<char>((bright ? 170 : 20) + uniform_int_at(key, r, y * 6 + x, 60)));
      }
    }
    char k[16];
    std::snprintf(k, sizeof(k), "%05d", r);
    ASSERT_TRUE(
        writer.put(k, r == corrupt ? std::string("\xff\x01junk", 6) : serialize_datum(d)).ok());
  }
  ASSERT_TRUE(writer.close().ok());
}

// Data (crop 5, mirror) -> ip1 12 -> ReLU -> Dropout -> ip2 3 -> loss;
// Accuracy in TEST.
std::string small_net(const std::string& lmdb, int batch, bool fatal_records = false) {
  return "name: \"small\"\n"
         "layer { name: \"data\" type: \"Data\" top: \"data\" top: \"label\"\n"
         "  data_param { source: \"" +
         lmdb + "\" batch_size: " + std::to_string(batch) +
         (fatal_records ? " bad_record_fatal: true" : "") +
         " }\n  transform_param { scale: 0.0039 crop_size: 5 mirror: true } }\n"
         "layer { name: \"ip1\" type: \"InnerProduct\" bottom: \"data\" top: \"ip1\"\n"
         "  inner_product_param { num_output: 12 weight_filler { type: \"gaussian\" std: 0.1 } } "
         "}\n"
         "layer { name: \"relu1\" type: \"ReLU\" bottom: \"ip1\" top: \"ip1\" }\n"
         "layer { name: \"drop1\" type: \"Dropout\" bottom: \"ip1\" top: \"ip1\"\n"
         "  dropout_param { dropout_ratio: 0.25 } }\n"
         "layer { name: \"ip2\" type: \"InnerProduct\" bottom: \"ip1\" top: \"ip2\"\n"
         "  inner_product_param { num_output: 3 weight_filler { type: \"gaussian\" std: 0.1 } } }\n"
         "layer { name: \"acc\" type: \"Accuracy\" bottom: \"ip2\" bottom: \"label\" top: \"acc\"\n"
         "  include { phase: TEST } }\n"
         "layer { name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"ip2\" bottom: \"label\" top: "
         "\"loss\" }\n";
}

// Two columns on partitions 0 and 1 joined by a Concat on partition 0.
std::string two_column_net(const std::string& lmdb, int batch) {
  return "name: \"twocol\"\n"
         "layer { name: \"data\" type: \"Data\" top: \"data\" top: \"label\"\n"
         "  data_param { source: \"" +
         lmdb + "\" batch_size: " + std::to_string(batch) +
         " }\n  transform_param { scale: 0.0039 crop_size: 5 mirror: true } }\n"
         "layer { name: \"ipa\" type: \"InnerProduct\" bottom: \"data\" top: \"ipa\" partition: 0\n"
         "  inner_product_param { num_output: 6 weight_filler { type: \"gaussian\" std: 0.1 } } }\n"
         "layer { name: \"ipb\" type: \"InnerProduct\" bottom: \"data\" top: \"ipb\" partition: 1\n"
         "  inner_product_param { num_output: 6 weight_filler { type: \"gaussian\" std: 0.1 } } }\n"
         "layer { name: \"relub\" type: \"ReLU\" bottom: \"ipb\" top: \"ipb\" partition: 1 }\n"
         "layer { name: \"cat\" type: \"Concat\" bottom: \"ipa\" bottom: \"ipb\" top: \"cat\" }\n"
         "layer { name: \"drop\" type: \"Dropout\" bottom: \"cat\" top: \"cat\"\n"
         "  dropout_param { dropout_ratio: 0.25 } }\n"
         "layer { name: \"ip2\" type: \"InnerProduct\" bottom: \"cat\" top: \"ip2\"\n"
         "  inner_product_param { num_output: 3 weight_filler { type: \"gaussian\" std: 0.1 } } }\n"
         "layer { name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"ip2\" bottom: \"label\" top: "
         "\"loss\" }\n";
}

// Long runs (the failure cases) neither display nor snapshot periodically.
std::string solver_text(const std::string& net, const std::string& prefix, int max_iter,
                        bool with_test) {
  const bool long_run = max_iter > 1000;
  return "net: \"" + net + "\"\nbase_lr: 0.05\nmomentum: 0.9\nweight_decay: 0.001\n" +
         "lr_policy: \"fixed\"\nmax_iter: " + std::to_string(max_iter) +
         "\ndisplay: " + (long_run ? "0" : "5") + "\nsnapshot: " + (long_run ? "0" : "10") +
         "\nsnapshot_after_train: " + (long_run ? "false" : "true") + "\nsnapshot_prefix: \"" +
         prefix + "\"\nrandom_seed: 3\n" + (with_test ? "test_iter: 3\ntest_interval: 10\n" : "");
}

class MultiprocessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run_command("command -v mpirun").exit_code != 0) {
      GTEST_SKIP() << "mpirun not found (Debian: openmpi-bin)";
    }
    // CI runs as root; Open MPI refuses that unless told.
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::string(BANYAN_BINARY_DIR) + "/tests/tmp_cluster/" + info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write_lmdb(dir_ + "/lmdb", -1);
    // A 2-process run must work: a build without MPI refuses one.
    const RunResult probe = run_command(mpirun(2) + kBanyan + " train --solver=/nonexistent 2>&1");
    if (probe.output.find("this build has no MPI") != std::string::npos) {
      GTEST_SKIP() << "this build has no MPI";
    }
  }

  static std::string mpirun(int processes) {
    return "mpirun --oversubscribe -np " + std::to_string(processes) + " ";
  }

  // Writes the net and solver as NAME.prototxt / NAME_solver.prototxt; the
  // snapshot prefix is DIR/NAME.
  std::string configure(const std::string& name, const std::string& net, int max_iter = 20,
                        bool with_test = true) {
    write_file(dir_ + "/" + name + ".prototxt", net);
    const std::string solver = dir_ + "/" + name + "_solver.prototxt";
    write_file(solver, solver_text(dir_ + "/" + name + ".prototxt", dir_ + "/" + name, max_iter,
                                   with_test));
    return solver;
  }

  // `banyan train` with `args`, under mpirun when processes > 0.
  RunResult train(int processes, const std::string& solver, const std::string& args) {
    const std::string cmd = (processes > 0 ? mpirun(processes) : std::string()) + kBanyan +
                            " train --solver=" + solver + " " + args + " 2>&1";
    return run_command(cmd, dir_);
  }

  std::vector<NamedArray> weights(const std::string& path) {
    std::vector<NamedArray> w;
    const Status s = read_weights(path, &w);
    EXPECT_TRUE(s.ok()) << s.message();
    return w;
  }

  std::string dir_;
};

// Each array of b (matched by name) within `tolerance` of the largest
// magnitude of a's; *max_relative (optional): the largest such difference
// over all arrays, relative to that magnitude.
void expect_close_weights(const std::vector<NamedArray>& a, const std::vector<NamedArray>& b,
                          float tolerance, const std::string& what, float* max_relative = nullptr) {
  if (max_relative != nullptr) *max_relative = 0.0f;
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const NamedArray& x : a) {
    auto y =
        std::find_if(b.begin(), b.end(), [&](const NamedArray& n) { return n.name == x.name; });
    ASSERT_NE(y, b.end()) << what << ": " << x.name;
    ASSERT_EQ(x.data.size(), y->data.size()) << what;
    float scale = 0.0f, worst = 0.0f;
    for (size_t j = 0; j < x.data.size(); ++j) {
      scale = std::max(scale, std::fabs(x.data[j]));
      worst = std::max(worst, std::fabs(x.data[j] - y->data[j]));
    }
    EXPECT_LE(worst, tolerance * scale) << what << ": " << x.name;
    if (max_relative != nullptr) {
      *max_relative = std::max(*max_relative, scale > 0.0f ? worst / scale : worst);
    }
  }
}

// Each array within 1e-6 of its largest magnitude.
void expect_same_weights(const std::vector<NamedArray>& a, const std::vector<NamedArray>& b,
                         const std::string& what) {
  expect_close_weights(a, b, 1e-6f, what);
}

TEST_F(MultiprocessTest, LayoutsAcrossProcessesTrainTheSameWeights) {
  const std::string lmdb = dir_ + "/lmdb";
  const std::string one = configure("one", small_net(lmdb, 4 * kB));
  const std::string four = configure("four", small_net(lmdb, kB));
  const std::string two_by_two = configure("mpi", small_net(lmdb, kB));
  RunResult r = train(0, one, "--devices=cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = train(0, four, "--devices=cpu,cpu,cpu,cpu --check_replicas");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = train(2, two_by_two, "--devices=cpu,cpu --check_replicas");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2 nodes x 2 worker(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("global batch = 4 x 3"), std::string::npos) << r.output;
  // Rank 0 alone writes; test passes are reduced over the processes.
  EXPECT_NE(r.output.find("Test net output #0: acc"), std::string::npos) << r.output;
  const auto reference = weights(dir_ + "/one_iter_20.banyan");
  expect_same_weights(reference, weights(dir_ + "/four_iter_20.banyan"), "1 process x 4 groups");
  expect_same_weights(reference, weights(dir_ + "/mpi_iter_20.banyan"), "2 processes x 2 groups");
  const auto initial = weights(dir_ + "/one_iter_10.banyan");
  EXPECT_NE(initial[0].data, reference[0].data);
}

// mpirun binds 2 ranks to one core each by default: every rank says so;
// unbound (--bind-to none) nothing is said.
TEST_F(MultiprocessTest, RankBoundToOneCoreIsWarnedAbout) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one core: nothing to warn about";
  const std::string solver = configure("bound", small_net(dir_ + "/lmdb", kB), 2, false);
  RunResult r = run_command("mpirun --oversubscribe --bind-to core -np 2 " + kBanyan +
                                " train --solver=" + solver + " --devices=cpu 2>&1",
                            dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rank 1 on host"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("is bound to 1 of"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--bind-to none"), std::string::npos) << r.output;
  r = run_command("mpirun --oversubscribe --bind-to none -np 2 " + kBanyan +
                      " train --solver=" + solver + " --devices=cpu 2>&1",
                  dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("is bound to 1 of"), std::string::npos) << r.output;
}

// exchange_precision: gradients cross the processes as BF16 or FP16: the
// replicas stay bitwise equal (--check_replicas), the weights move from the
// FP32 run's by about the 16-bit rounding (not at all would mean the
// setting did nothing), and stay close to them.
TEST_F(MultiprocessTest, SixteenBitGradientsBetweenProcesses) {
  const std::string lmdb = dir_ + "/lmdb";
  const std::string fp32 = configure("fp32", small_net(lmdb, kB), 20, false);
  RunResult r = train(2, fp32, "--devices=cpu,cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto reference = weights(dir_ + "/fp32_iter_20.banyan");
  for (const std::string wire : {"BF16", "FP16"}) {
    const std::string name = "wire_" + wire;
    const std::string solver = configure(name, small_net(lmdb, kB), 20, false);
    std::ofstream(solver, std::ios::app) << "exchange_precision: EXCHANGE_" << wire << "\n";
    r = train(2, solver, "--devices=cpu,cpu --check_replicas");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("gradients between processes: " + wire), std::string::npos) << r.output;
    // 20 steps of lr 0.05 on gradients rounded to 2^-8 (BF16) relative:
    // far below the weights' own size.
    float moved = 0.0f;
    expect_close_weights(reference, weights(dir_ + "/" + name + "_iter_20.banyan"), 0.05f, wire,
                         &moved);
    EXPECT_GT(moved, 0.0f) << wire << " gradients left the weights bitwise unchanged";
    ::testing::Test::RecordProperty("max_relative_change_" + wire, std::to_string(moved));
  }
}

// Data -> ip1 -> BatchNorm -> Scale -> ReLU -> ip2 -> loss.
std::string batch_norm_net(const std::string& lmdb, int batch) {
  return "name: \"bn\"\n"
         "layer { name: \"data\" type: \"Data\" top: \"data\" top: \"label\"\n"
         "  data_param { source: \"" +
         lmdb + "\" batch_size: " + std::to_string(batch) +
         " }\n  transform_param { scale: 0.0039 crop_size: 5 mirror: true } }\n"
         "layer { name: \"ip1\" type: \"InnerProduct\" bottom: \"data\" top: \"ip1\"\n"
         "  inner_product_param { num_output: 8 bias_term: false\n"
         "    weight_filler { type: \"gaussian\" std: 0.1 } } }\n"
         "layer { name: \"bn1\" type: \"BatchNorm\" bottom: \"ip1\" top: \"bn1\" }\n"
         "layer { name: \"sc1\" type: \"Scale\" bottom: \"bn1\" top: \"sc1\"\n"
         "  scale_param { bias_term: true } }\n"
         "layer { name: \"relu1\" type: \"ReLU\" bottom: \"sc1\" top: \"sc1\" }\n"
         "layer { name: \"ip2\" type: \"InnerProduct\" bottom: \"sc1\" top: \"ip2\"\n"
         "  inner_product_param { num_output: 3 weight_filler { type: \"gaussian\" std: 0.1 } } }\n"
         "layer { name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"ip2\" bottom: \"label\" top: "
         "\"loss\" }\n";
}

// BatchNorm's running statistics are averaged over every group of every
// process before a snapshot: 2 processes x 2 groups write what 1 process x
// 4 groups writes (the same slices per global group), statistics included.
TEST_F(MultiprocessTest, BatchNormStatisticsAverageAcrossProcesses) {
  const std::string lmdb = dir_ + "/lmdb";
  const std::string four = configure("bn_four", batch_norm_net(lmdb, kB), 20, false);
  const std::string mpi = configure("bn_mpi", batch_norm_net(lmdb, kB), 20, false);
  RunResult r = train(0, four, "--devices=cpu,cpu,cpu,cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = train(2, mpi, "--devices=cpu,cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto a = weights(dir_ + "/bn_four_iter_20.banyan");
  const auto b = weights(dir_ + "/bn_mpi_iter_20.banyan");
  expect_same_weights(a, b, "BatchNorm net, 2 processes x 2 groups vs 1 x 4");
  bool has_stats = false;
  for (const NamedArray& x : a) has_stats |= x.name == "bn1/0";
  EXPECT_TRUE(has_stats);
}

TEST_F(MultiprocessTest, TwoColumnNetSplitInsideEachProcess) {
  const std::string lmdb = dir_ + "/lmdb";
  const std::string one = configure("one", two_column_net(lmdb, 4 * kB), 20, false);
  const std::string split = configure("split", two_column_net(lmdb, 2 * kB), 20, false);
  RunResult r = train(0, one, "--devices=cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // 2 processes x 1 group of 2 partitions: global batch 2 x 2B.
  r = train(2, split, "--devices=cpu,cpu --group_size=2 --check_replicas");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_same_weights(weights(dir_ + "/one_iter_20.banyan"),
                      weights(dir_ + "/split_iter_20.banyan"),
                      "2 processes x (1 group x 2 partitions)");
}

// GPU workers across processes exchange through one NCCL communicator
// bootstrapped over MPI: 2 processes with one GPU each (mpirun's MPMD form
// gives each its own --devices) train the weights of one process on both
// GPUs (NCCL inside it) and of one GPU at batch 2B.  Deterministic cuDNN
// algorithms; two-rank sums are exact, so the in-process and the
// cross-process runs agree like the CPU layouts.  Needs 2 GPUs.
TEST_F(MultiprocessTest, GpuWorkersAcrossProcessesTrainLikeOneProcess) {
  BANYAN_SKIP_WITHOUT_GPUS(2);
  const std::string lmdb = dir_ + "/lmdb";
  const std::string one = configure("gpu_one", small_net(lmdb, 2 * kB));
  const std::string local = configure("gpu_local", small_net(lmdb, kB));
  const std::string across = configure("gpu_mpi", small_net(lmdb, kB));
  RunResult r = train(0, one, "--devices=0 --gpu_deterministic");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = train(0, local, "--devices=0,1 --exchange=nccl --gpu_deterministic");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // mpirun's MPMD form: process 0 on GPU 0, process 1 on GPU 1.
  auto one_gpu_each = [&](const std::string& solver) {
    const std::string rank =
        kBanyan + " train --solver=" + solver + " --gpu_deterministic --check_replicas";
    return run_command("mpirun --oversubscribe -np 1 " + rank + " --devices=0 : -np 1 " + rank +
                           " --devices=1 2>&1",
                       dir_);
  };
  r = one_gpu_each(across);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("nccl across 2 processes"), std::string::npos) << r.output;
  const auto in_process = weights(dir_ + "/gpu_local_iter_20.banyan");
  expect_same_weights(in_process, weights(dir_ + "/gpu_mpi_iter_20.banyan"),
                      "2 processes x 1 GPU vs 1 process x 2 GPUs");
  // BF16 gradients through NCCL: replicas still equal, weights near FP32's.
  const std::string bf16 = configure("gpu_bf16", small_net(lmdb, kB));
  std::ofstream(bf16, std::ios::app) << "exchange_precision: EXCHANGE_BF16\n";
  r = one_gpu_each(bf16);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_close_weights(in_process, weights(dir_ + "/gpu_bf16_iter_20.banyan"), 0.05f,
                       "BF16 on the wire");
  // The one-GPU run at batch 2B sums in another order (one GEMM): 1e-5.
  expect_close_weights(weights(dir_ + "/gpu_one_iter_20.banyan"), in_process, 1e-5f,
                       "1 GPU at 2B vs 1 process x 2 GPUs");
}

// 20 iterations on 2 processes x 3 groups equal 10 there and 10 more on 3
// processes x 2 groups (the same 6 groups), resumed from the snapshot.
TEST_F(MultiprocessTest, SnapshotResumesOnAnotherProcessCount) {
  const std::string lmdb = dir_ + "/lmdb";
  const std::string straight = configure("straight", small_net(lmdb, kB), 20, false);
  const std::string moved = configure("moved", small_net(lmdb, kB), 20, false);
  RunResult r = train(2, straight, "--devices=cpu,cpu,cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = train(2, moved, "--devices=cpu,cpu,cpu --iterations=10");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = train(3, moved, "--devices=cpu,cpu --snapshot=" + dir_ + "/moved_iter_10.solverstate");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("3 nodes x"), std::string::npos) << r.output;
  expect_same_weights(weights(dir_ + "/straight_iter_20.banyan"),
                      weights(dir_ + "/moved_iter_20.banyan"), "resumed on 3 processes");
}

struct FailureResult {
  int rc = -1;
  double seconds = -1.0;
  std::string log;
};

class MultiprocessFailureTest : public MultiprocessTest {
 protected:
  FailureResult inject(const std::string& mode, const std::string& solver,
                       const std::string& args) {
    const std::string log = dir_ + "/" + mode + ".log";
    const std::string cmd = kFailureCase + " " + mode + " " + log + " -- " + mpirun(2) + kBanyan +
                            " train --solver=" + solver + " " + args;
    const RunResult r = run_command(cmd, dir_);
    FailureResult f;
    std::smatch m;
    const std::regex re("rc=([0-9]+) seconds=([0-9.]+)");
    if (std::regex_search(r.output, m, re)) {
      f.rc = std::stoi(m[1]);
      f.seconds = std::stod(m[2]);
    }
    std::ifstream in(log);
    f.log.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return f;
  }
};

// Ended within 60 s, non-zero, saying `says` (the rank); the time is kept
// in the JUnit XML.
void expect_job_stopped(const FailureResult& f, const std::string& says) {
  EXPECT_NE(f.rc, 0) << f.log;
  EXPECT_NE(f.rc, 124) << "did not stop: " << f.log;
  EXPECT_LT(f.seconds, 60.0) << f.log;
  EXPECT_NE(f.log.find(says), std::string::npos) << f.log;
  ::testing::Test::RecordProperty("seconds_to_stop", std::to_string(f.seconds));
}

TEST_F(MultiprocessFailureTest, KilledRankStopsTheJob) {
  const std::string solver = configure("long", small_net(dir_ + "/lmdb", kB), 1000000, false);
  const FailureResult f = inject("kill9", solver, "--devices=cpu");
  expect_job_stopped(f, "rank 1");
}

TEST_F(MultiprocessFailureTest, HungRankStopsTheJobByHeartbeat) {
  const std::string solver = configure("long", small_net(dir_ + "/lmdb", kB), 1000000, false);
  const FailureResult f = inject("stop", solver, "--devices=cpu --heartbeat_timeout=5");
  expect_job_stopped(f, "no heartbeat from rank 1 on host");
}

TEST_F(MultiprocessFailureTest, FatalBadRecordOnOneRankStopsTheJob) {
  write_lmdb(dir_ + "/bad_lmdb", 7);
  const std::string solver =
      configure("bad", small_net(dir_ + "/bad_lmdb", kB, /*fatal_records=*/true), 1000000, false);
  const FailureResult f = inject("none", solver, "--devices=cpu");
  expect_job_stopped(f, "rank");
  EXPECT_NE(f.log.find("bad_lmdb"), std::string::npos) << "the LMDB is named: " << f.log;
}

// SIGINT on mpirun: Open MPI sends every rank SIGTERM (then SIGKILL after
// odls_base_sigkill_timeout, 1 s by default); the ranks agree on the stop
// iteration, rank 0 writes one snapshot and every rank exits 0.  mpirun
// itself then reports 1, since it killed the job.
TEST_F(MultiprocessFailureTest, SigintOnTheLauncherSnapshotsOnce) {
  const std::string solver = configure("long", small_net(dir_ + "/lmdb", kB), 100000000, false);
  const FailureResult f = inject("sigint", solver, "--devices=cpu");
  EXPECT_NE(f.rc, 124) << "did not stop: " << f.log;
  EXPECT_LT(f.seconds, 60.0) << f.log;
  std::vector<std::string> states;
  for (const auto& e : fs::directory_iterator(dir_)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("long_iter_", 0) == 0 && n.find(".solverstate") != std::string::npos) {
      states.push_back(n);
    }
  }
  ASSERT_EQ(states.size(), 1u) << f.log;
  EXPECT_NE(f.log.find("stop requested at iteration"), std::string::npos) << f.log;
  // The state is whole: it resumes, for two more iterations.
  const long long at = std::stoll(states[0].substr(10));
  const RunResult r = train(0, solver,
                            "--devices=cpu,cpu --iterations=" + std::to_string(at + 2) +
                                " --snapshot=" + dir_ + "/" + states[0]);
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace banyan
