// Pipeline batches against the synchronous reference: bit-identical data and
// labels for TRAIN and TEST across epoch boundaries, for 1, 2 and 4 decode
// threads and 1, 2, 3 worker groups; coverage of every record once per epoch
// with disjoint group slices; restarts at a new test pass or a jump.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tests/pipeline/pipeline_test_util.h"

namespace banyan {
namespace {

using namespace testing_pipeline;

constexpr int kRecords = 13;  // with batches of 4: epochs straddle batches

TransformConfig augmenting_transform() {
  TransformConfig tc;
  tc.crop_size = 4;
  tc.mirror = true;
  tc.mean_value = {3.0f, 40.0f, 100.0f};
  tc.scale = 0.25f;
  return tc;
}

PipelineOptions options_for(const std::string& src, const TransformConfig& tc, int batch,
                            int threads) {
  PipelineOptions o;
  o.source = src;
  o.transform = tc;
  o.batch_size = batch;
  o.decode_threads = threads;
  o.prefetch = 3;
  return o;
}

class PipelineOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> raw, jpeg;
    for (int i = 0; i < kRecords; ++i) {
      raw.push_back(raw_datum(i, 3, 6, 7));
      jpeg.push_back(jpeg_datum(i, 9, 8));
    }
    raw_ = dir_.path() + "/raw";
    jpeg_ = dir_.path() + "/jpeg";
    write_lmdb(raw_, raw);
    write_lmdb(jpeg_, jpeg);
  }

  // Runs iterations 0..iterations-1 for every group and compares each batch
  // with the reference.
  void expect_reference(const std::string& src, Phase phase, int groups, int threads,
                        int iterations, const TransformConfig& tc = augmenting_transform()) {
    const int batch = 4;
    const uint64_t seed = 11;
    Reference ref(src, tc);
    for (int g = 0; g < groups; ++g) {
      std::unique_ptr<Pipeline> p;
      ASSERT_TRUE(Pipeline::open(options_for(src, tc, batch, threads), &p).ok());
      for (int it = 0; it < iterations; ++it) {
        BatchRequest r{phase, seed, it, groups, g};
        HostBatch got = acquire_converted(*p, r);
        HostBatch want = ref.batch(phase, true, seed, it, groups, g, batch);
        ASSERT_EQ(got.labels, want.labels) << "iteration " << it << " group " << g;
        ASSERT_EQ(got.data, want.data) << "iteration " << it << " group " << g;
      }
    }
  }

  TempDir dir_;
  std::string raw_, jpeg_;
};

TEST_F(PipelineOrderTest, TrainBatchesEqualTheReference) {
  for (int threads : {1, 2, 4}) {
    for (int groups : {1, 2, 3}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + " groups " + std::to_string(groups));
      expect_reference(raw_, Phase::kTrain, groups, threads, 8);
    }
  }
}

TEST_F(PipelineOrderTest, TestBatchesEqualTheReference) {
  for (int threads : {1, 4}) {
    for (int groups : {1, 3}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + " groups " + std::to_string(groups));
      expect_reference(raw_, Phase::kTest, groups, threads, 7);
    }
  }
}

TEST_F(PipelineOrderTest, JpegBatchesEqualTheReference) {
  for (int threads : {1, 2, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    expect_reference(jpeg_, Phase::kTrain, 2, threads, 6);
  }
  TransformConfig gray = augmenting_transform();  // one channel: another crop loop
  gray.force_gray = true;
  gray.mean_value = {50.0f};
  expect_reference(jpeg_, Phase::kTrain, 1, 2, 6, gray);
}

TEST_F(PipelineOrderTest, EveryRecordOncePerEpochInDisjointGroupSlices) {
  for (int groups : {1, 2, 3}) {
    const int batch = 4, epochs = 3;
    std::vector<int> by_sample;  // global sample -> record (label)
    std::vector<std::unique_ptr<Pipeline>> pipes(groups);
    for (auto& p : pipes) {
      ASSERT_TRUE(Pipeline::open(options_for(raw_, TransformConfig(), batch, 2), &p).ok());
    }
    for (int it = 0; static_cast<int>(by_sample.size()) < epochs * kRecords; ++it) {
      for (int g = 0; g < groups; ++g) {
        HostBatch b = acquire_converted(*pipes[g], BatchRequest{Phase::kTrain, 5, it, groups, g});
        by_sample.insert(by_sample.end(), b.labels.begin(), b.labels.end());
      }
    }
    std::vector<int> first_epoch;
    for (int e = 0; e < epochs; ++e) {
      std::vector<int> order(by_sample.begin() + e * kRecords,
                             by_sample.begin() + (e + 1) * kRecords);
      if (e == 0) first_epoch = order;
      std::sort(order.begin(), order.end());
      for (int i = 0; i < kRecords; ++i) ASSERT_EQ(order[i], i) << "groups " << groups;
    }
    std::vector<int> identity(kRecords);
    std::iota(identity.begin(), identity.end(), 0);
    EXPECT_NE(first_epoch, identity) << "TRAIN order is shuffled";
    // Within one epoch the group slices are disjoint: no record twice.
    std::set<int> seen(by_sample.begin(), by_sample.begin() + kRecords);
    EXPECT_EQ(seen.size(), static_cast<size_t>(kRecords));
  }
}

TEST_F(PipelineOrderTest, RestartsAtANewTestPassAndOnJumps) {
  const TransformConfig tc = augmenting_transform();
  Reference ref(raw_, tc);
  std::unique_ptr<Pipeline> p;
  ASSERT_TRUE(Pipeline::open(options_for(raw_, tc, 4, 2), &p).ok());
  // Two test passes of 3 batches, a train stretch, a jump back and forward.
  const std::vector<std::pair<Phase, int>> plan = {
      {Phase::kTest, 0},  {Phase::kTest, 1},  {Phase::kTest, 2},  {Phase::kTest, 0},
      {Phase::kTest, 1},  {Phase::kTrain, 7}, {Phase::kTrain, 8}, {Phase::kTrain, 2},
      {Phase::kTrain, 9}, {Phase::kTest, 0}};
  for (const auto& [phase, it] : plan) {
    HostBatch got = acquire_converted(*p, BatchRequest{phase, 3, it, 1, 0});
    HostBatch want = ref.batch(phase, true, 3, it, 1, 0, 4);
    ASSERT_EQ(got.labels, want.labels) << phase_name(phase) << " " << it;
    ASSERT_EQ(got.data, want.data) << phase_name(phase) << " " << it;
  }
}

TEST_F(PipelineOrderTest, FloatRecordsAreTransformedByTheDecoders) {
  std::vector<std::string> recs;
  for (int i = 0; i < 5; ++i) {
    DatumRecord d;
    d.channels = 2;
    d.height = 3;
    d.width = 3;
    for (int j = 0; j < 18; ++j) d.float_data.push_back(0.5f * i - 0.25f * j);
    d.label = 100 + i;
    recs.push_back(serialize_datum(d));
  }
  const std::string src = dir_.path() + "/float";
  write_lmdb(src, recs);
  TransformConfig tc;
  tc.crop_size = 2;
  tc.mirror = true;
  tc.scale = 3.0f;
  Reference ref(src, tc);
  std::unique_ptr<Pipeline> p;
  ASSERT_TRUE(Pipeline::open(options_for(src, tc, 3, 2), &p).ok());
  EXPECT_TRUE(p->format().is_float);
  for (int it = 0; it < 4; ++it) {
    HostBatch got = acquire_converted(*p, BatchRequest{Phase::kTrain, 8, it, 1, 0});
    HostBatch want = ref.batch(Phase::kTrain, true, 8, it, 1, 0, 3);
    ASSERT_EQ(got.labels, want.labels) << it;
    ASSERT_EQ(got.data, want.data) << it;
  }
}

}  // namespace
}  // namespace banyan
