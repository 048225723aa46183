// `banyan train` when data, numbers or the disk fail: a bad record with
// bad_record_fatal ends the run with exit 1 and one line naming the LMDB and
// the key (no abort); a NaN stops it at that iteration naming the first
// layer and the last good snapshot (or is skipped with --nan_policy=
// skip_step); a snapshot that cannot be written (file size limit: the
// write fails as on a full disk, also for root) keeps the previous one and
// says so, stopping or going on as --snapshot_errors says.
#include <cmath>
#include <string>

#include "data/datum.h"
#include "data/lmdb.h"
#include "tests/bin/cli_fixture.h"

namespace banyan {
namespace {

class ReliabilityCliTest : public CliFixture {
 protected:
  // `count` 1x8x8 float records in train_lmdb, in order (no shuffle);
  // record `nan_record` holds a NaN, record `short_record` one value too few.
  void write_lmdb(int count, int nan_record, int short_record) {
    LmdbWriter writer;
    ASSERT_TRUE(LmdbWriter::open(dir_ + "/train_lmdb", LmdbWriterOptions(), &writer).ok());
    for (int r = 0; r < count; ++r) {
      DatumRecord d;
      d.channels = 1;
      d.height = d.width = 8;
      d.label = r % 4;
      for (int i = 0; i < 64; ++i) {
        const int quadrant = (i / 8 / 4) * 2 + i % 8 / 4;
        d.float_data.push_back(quadrant == d.label ? 200.0f : static_cast<float>((r * 7 + i) % 50));
      }
      if (r == nan_record) d.float_data[9] = std::nanf("");
      if (r == short_record) d.float_data.pop_back();
      char key[16];
      std::snprintf(key, sizeof(key), "%08d", r);
      ASSERT_TRUE(writer.put(key, serialize_datum(d)).ok());
    }
    ASSERT_TRUE(writer.close().ok());
  }

  // A small net over train_lmdb (batch 16, in order) and its solver.
  void write_config(int max_iter, int snapshot, const std::string& data_extra = "",
                    const std::string& solver_extra = "") {
    write_file(dir_ + "/net.prototxt", R"(name: "Tiny"
layer { name: "data" type: "Data" top: "data" top: "label"
  transform_param { scale: 0.00390625 }
  data_param { source: "train_lmdb" batch_size: 16 shuffle: false )" +
                                           data_extra + R"( } }
layer { name: "fc1" type: "InnerProduct" bottom: "data" top: "fc1"
  inner_product_param { num_output: )" + std::to_string(hidden_) +
                                           R"( weight_filler { type: "xavier" } } }
layer { name: "relu" type: "ReLU" bottom: "fc1" top: "fc1" }
layer { name: "fc2" type: "InnerProduct" bottom: "fc1" top: "fc2"
  inner_product_param { num_output: 4 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc2" bottom: "label" top: "loss" }
)");
    write_file(dir_ + "/solver.prototxt",
               "net: \"net.prototxt\"\nbase_lr: 0.05\nmomentum: 0.9\nlr_policy: \"fixed\"\n"
               "display: 5\nmax_iter: " +
                   std::to_string(max_iter) + "\nsnapshot: " + std::to_string(snapshot) +
                   "\nsnapshot_prefix: \"snap/t\"\nrandom_seed: 3\n" + solver_extra);
    fs::create_directories(dir_ + "/snap");
  }

  int hidden_ = 8;  // fc1's outputs

  RunResult train(const std::string& flags, const std::string& before = "") {
    return run_command(before + kBin + "banyan train --solver=solver.prototxt " + flags + " 2>&1",
                       dir_);
  }

  static int count_of(const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }
};

// Record 40 of 64 is read at iteration 2 (batch 16, in order).
TEST_F(ReliabilityCliTest, BadRecordFatalEndsTheRunWithOneLineNamingLmdbAndKey) {
  write_lmdb(64, -1, 40);
  write_config(10, 0, "bad_record_fatal: true");
  RunResult r = train("");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(count_of(r.output, "record '00000040'"), 2) << r.output;  // the warning and the error
  EXPECT_NE(r.output.find("train_lmdb' record '00000040': "), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Check failed"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("*** "), std::string::npos) << "no abort, no stack trace:\n" << r.output;
  // Without the flag the record is replaced and training finishes.
  write_config(10, 0);
  r = train("");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("replaced by the next record"), std::string::npos) << r.output;
}

// Record 200 of 256 is read at iteration 12 of every epoch of 16.
TEST_F(ReliabilityCliTest, NanStopsAtItsIterationNamingTheLayerAndTheLastSnapshot) {
  write_lmdb(256, 200, -1);
  write_config(40, 5);
  RunResult r = train("");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("non-finite values at iteration 12, first in output 'data' of layer "
                          "'data' (Data): NaN at element 521 of 1024"),
            std::string::npos)
      << r.output;  // sample 8 of the batch, element 9: 8 * 64 + 9
  EXPECT_NE(r.output.find("the last good snapshot is 'snap/t_iter_10.solverstate' (iteration 10)"),
            std::string::npos)
      << r.output;
  EXPECT_TRUE(fs::exists(dir_ + "/snap/t_iter_10.solverstate"));
  EXPECT_FALSE(fs::exists(dir_ + "/snap/t_iter_12.solverstate")) << "no snapshot of a NaN state";
  EXPECT_FALSE(fs::exists(dir_ + "/snap/t_iter_15.solverstate"));

  // skip_step: the two reads of record 200 (iterations 12 and 28) are skipped.
  fs::remove_all(dir_ + "/snap");
  write_config(40, 0);
  r = train("--nan_policy=skip_step");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(count_of(r.output, "update skipped"), 2) << r.output;
  EXPECT_NE(r.output.find("non-finite values at iteration 28"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Optimization done at iteration 40"), std::string::npos) << r.output;
  // A limit of one skip stops at the first.
  r = train("--nan_policy=skip_step --nan_skip_limit=1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("1 non-finite steps in a row: nan_skip_limit"), std::string::npos)
      << r.output;
  r = train("--nan_policy=sometimes");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

// With 64 hidden units the weights are ~18 KiB: under an 8 KiB file size
// limit every snapshot write fails like a write to a full disk (and the
// OpenMP runtime's small shared-memory file still fits).
TEST_F(ReliabilityCliTest, SnapshotThatCannotBeWrittenKeepsThePreviousOne) {
  hidden_ = 64;
  write_lmdb(64, -1, -1);
  write_config(20, 10, "", "snapshot_after_train: false\n");
  RunResult r = train("--metrics=/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string good_state = read_all(dir_ + "/snap/t_iter_20.solverstate");
  const std::string good_weights = read_all(dir_ + "/snap/t_iter_20.banyan");
  ASSERT_FALSE(good_state.empty());
  ASSERT_GT(good_weights.size(), 8192u);

  const std::string full_disk = "trap '' XFSZ; ulimit -f 8; ";
  write_config(40, 10, "", "snapshot_after_train: false\n");
  const std::string resume = "--snapshot=snap/t_iter_20.solverstate --metrics=/dev/null";
  r = train(resume, full_disk);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("snapshot at iteration 30 not written: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the last good snapshot, 'snap/t_iter_20.solverstate' (iteration 20), "
                          "is intact"),
            std::string::npos)
      << r.output;
  auto only_iteration_20 = [&] {
    for (const auto& e : fs::directory_iterator(dir_ + "/snap")) {
      const std::string name = e.path().filename().string();
      EXPECT_TRUE(name.rfind("t_iter_10.", 0) == 0 || name.rfind("t_iter_20.", 0) == 0)
          << "left behind: " << name;
      EXPECT_NE(e.path().extension(), ".tmp") << name;
    }
    EXPECT_EQ(read_all(dir_ + "/snap/t_iter_20.solverstate"), good_state);
    EXPECT_EQ(read_all(dir_ + "/snap/t_iter_20.banyan"), good_weights);
  };
  only_iteration_20();

  // --snapshot_errors=continue: both failures logged, training finishes.
  r = train(resume + " --snapshot_errors=continue", full_disk);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("training goes on (2 snapshot(s) failed so far)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("Optimization done at iteration 40"), std::string::npos) << r.output;
  only_iteration_20();
}

// An allocation that cannot be made names the net, the arena and the bytes,
// and points to time --memory, which gives one worker's memory by part.
TEST_F(ReliabilityCliTest, OutOfMemoryNamesTheArenaAndTimeMemoryGivesTheParts) {
  write_file(dir_ + "/huge.prototxt", R"(name: "Huge"
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 100000 dim: 1000 dim: 1000 dim: 10 } } }
layer { name: "relu" type: "ReLU" bottom: "x" top: "y" }
)");
  RunResult r = run_command(kBin + "banyan time --model=huge.prototxt 2>&1", dir_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("activations of net 'Huge': cannot allocate "), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(" bytes (7629394.5 MiB) on cpu"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("banyan time --memory"), std::string::npos) << r.output;

  write_lmdb(64, -1, -1);
  write_config(10, 0);
  r = run_command(kBin + "banyan time --memory --model=net.prototxt 2>&1", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto bytes_of = [&](const std::string& part) -> int64_t {
    const size_t at = r.output.find(part);
    if (at == std::string::npos) return -1;
    const size_t open = r.output.find("MiB (", at);
    return open == std::string::npos ? -1 : std::atoll(r.output.c_str() + open + 5);
  };
  // fc1 64 x 8 + 8, fc2 8 x 4 + 4: 556 floats, each array padded to its alignment.
  const int64_t history = bytes_of("solver history, SGD");
  EXPECT_GE(history, 556 * 4) << r.output;
  EXPECT_LT(history, 556 * 4 + 4 * 64) << r.output;
  EXPECT_EQ(bytes_of("parameters + gradients"), 2 * history) << r.output;
  EXPECT_EQ(bytes_of("solver history, Adam"), 2 * history) << r.output;
  const int64_t parts = bytes_of("activations, TRAIN net") + bytes_of("activations, TEST net") +
                        bytes_of("parameters + gradients") + bytes_of("BF16 shadows") +
                        bytes_of("layer workspace");
  EXPECT_EQ(bytes_of("total with SGD"), parts + history) << r.output;
  EXPECT_EQ(bytes_of("total with Adam"), parts + 2 * history) << r.output;
  // TRAIN activations: data, label, fc1, fc2, loss with diffs where backward reaches.
  EXPECT_GT(bytes_of("activations, TRAIN net"), 16 * (64 + 8 + 4) * 4) << r.output;
}

}  // namespace
}  // namespace banyan
