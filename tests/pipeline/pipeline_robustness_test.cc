// Pipeline behaviour under pressure: backpressure from a slow consumer, clean
// shutdown while stages are blocked, bad records (replaced deterministically,
// or fatal naming the key), resizing of odd-sized records, stage overlap, and
// the statistics line.
#include <gtest/gtest.h>

#include <chrono>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "tests/pipeline/pipeline_test_util.h"

namespace banyan {
namespace {

using namespace testing_pipeline;
using namespace std::chrono_literals;

class PipelineRobustnessTest : public ::testing::Test {
 protected:
  std::string raw_lmdb(int n) {
    std::vector<std::string> recs;
    for (int i = 0; i < n; ++i) recs.push_back(raw_datum(i, 1, 4, 4));
    std::string path = dir_.path() + "/raw" + std::to_string(n);
    write_lmdb(path, recs);
    return path;
  }
  static PipelineOptions options(const std::string& src, int batch, int threads, int prefetch) {
    PipelineOptions o;
    o.source = src;
    o.batch_size = batch;
    o.decode_threads = threads;
    o.prefetch = prefetch;
    return o;
  }
  // JPEG records 0..9 (8x8 colour) with four defects, and one 10 x 12 record.
  std::string corrupt_lmdb() {
    std::vector<std::string> recs;
    for (int i = 0; i < 10; ++i) recs.push_back(jpeg_datum(i, 8, 8));
    DatumRecord d;
    expect_ok(parse_datum(recs[3], &d).ok());
    d.data.resize(d.data.size() / 2);  // truncated JPEG
    recs[3] = serialize_datum(d);
    recs[4] = jpeg_datum(4, 8, 8, 1);  // gray: wrong channel count
    recs[5] = "\xff\x01garbage, not a Datum";
    expect_ok(parse_datum(recs[6], &d).ok());
    d.has_label = false;  // no label field
    recs[6] = serialize_datum(d);
    recs[8] = jpeg_datum(8, 10, 12);  // another size: resized, not bad
    std::string path = dir_.path() + "/corrupt";
    write_lmdb(path, recs);
    return path;
  }
  // EXPECT_TRUE for helpers that return a value (ASSERT_* cannot).
  static void expect_ok(bool ok) { EXPECT_TRUE(ok); }

  TempDir dir_;
};

TEST_F(PipelineRobustnessTest, SlowConsumerKeepsTheReaderAtMostPrefetchAhead) {
  std::unique_ptr<Pipeline> p;
  ASSERT_TRUE(Pipeline::open(options(raw_lmdb(20), 2, 2, 3), &p).ok());
  for (int it = 0; it < 8; ++it) {
    acquire_converted(*p, BatchRequest{Phase::kTrain, 1, it, 1, 0});
    std::this_thread::sleep_for(15ms);  // the stages fill every free buffer meanwhile
    EXPECT_LE(p->max_lead(), 3) << "iteration " << it;
  }
  EXPECT_EQ(p->max_lead(), 3);  // it did run ahead, as far as allowed
}

TEST_F(PipelineRobustnessTest, DestroysCleanlyWhateverTheStagesAreDoing) {
  const std::string src = raw_lmdb(30);
  {  // never started
    std::unique_ptr<Pipeline> p;
    ASSERT_TRUE(Pipeline::open(options(src, 4, 2, 2), &p).ok());
  }
  {  // full queues: the reader is blocked on the free queue
    std::unique_ptr<Pipeline> p;
    ASSERT_TRUE(Pipeline::open(options(src, 4, 2, 2), &p).ok());
    acquire_converted(*p, BatchRequest{Phase::kTrain, 1, 0, 1, 0});
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(p->max_lead(), 2);
  }
  {  // empty queues: decoders slow, the consumer waiting for nothing yet
    PipelineOptions o = options(src, 4, 3, 4);
    o.test_decode_delay_s = 0.02;
    std::unique_ptr<Pipeline> p;
    ASSERT_TRUE(Pipeline::open(o, &p).ok());
    acquire_converted(*p, BatchRequest{Phase::kTest, 1, 0, 1, 0});
  }
  {  // mid-epoch, holding a batch, with a slow reader
    PipelineOptions o = options(src, 4, 2, 3);
    o.test_read_delay_s = 0.02;
    std::unique_ptr<Pipeline> p;
    ASSERT_TRUE(Pipeline::open(o, &p).ok());
    for (int it = 0; it < 3; ++it) acquire_converted(*p, BatchRequest{Phase::kTrain, 1, it, 1, 0});
    Batch* b = nullptr;
    ASSERT_TRUE(p->acquire(BatchRequest{Phase::kTrain, 1, 3, 1, 0}, &b).ok());
  }
}

TEST_F(PipelineRobustnessTest, BadRecordsAreReplacedByTheNextInOrder) {
  const std::string src = corrupt_lmdb();
  HostBatch first;
  for (int threads : {1, 4}) {
    std::unique_ptr<Pipeline> p;
    ASSERT_TRUE(Pipeline::open(options(src, 10, threads, 2), &p).ok());
    Batch* batch = nullptr;
    ASSERT_TRUE(p->acquire(BatchRequest{Phase::kTest, 1, 0, 1, 0}, &batch).ok());
    EXPECT_EQ(batch->replaced.load(), 4 + 3 + 2 + 1);  // every bad candidate met counts
    HostBatch b = convert(*p, batch);
    p->release(batch);
    // TEST order is the identity; 3..6 are bad, so each takes record 7.
    EXPECT_EQ(b.labels, (std::vector<int>{0, 1, 2, 7, 7, 7, 7, 7, 8, 9})) << threads;
    EXPECT_GE(p->stats().replaced, 10);
    if (threads == 1) {
      first = b;
    } else {
      EXPECT_EQ(b.data, first.data);  // replacement does not depend on threads
    }
  }
  // In TRAIN the replacement follows the epoch's permutation.
  std::unique_ptr<Pipeline> p;
  ASSERT_TRUE(Pipeline::open(options(src, 10, 2, 2), &p).ok());
  HostBatch b = acquire_converted(*p, BatchRequest{Phase::kTrain, 4, 0, 1, 0});
  SampleOrder order(10, true, 4);
  for (int n = 0; n < 10; ++n) {
    int k = 0;
    while (order.record_after(n, k) >= 3 && order.record_after(n, k) <= 6) ++k;
    EXPECT_EQ(b.labels[n], static_cast<int>(order.record_after(n, k))) << n;
  }
}

TEST_F(PipelineRobustnessTest, FatalModeNamesTheLmdbAndKey) {
  const std::string src = corrupt_lmdb();
  for (int threads : {1, 4}) {
    PipelineOptions o = options(src, 10, threads, 2);
    o.bad_record_fatal = true;
    std::unique_ptr<Pipeline> p;
    ASSERT_TRUE(Pipeline::open(o, &p).ok());
    Batch* b = nullptr;
    Status s = p->acquire(BatchRequest{Phase::kTest, 1, 0, 1, 0}, &b);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
    // The lowest bad sample of the batch, whichever thread met it first.
    EXPECT_NE(s.message().find("LMDB '" + src + "' record '00000003'"), std::string::npos)
        << s.message();
    p->release(b);
  }
}

TEST_F(PipelineRobustnessTest, ResizedRecordMatchesOpenCvBilinear) {
  const std::string src = corrupt_lmdb();
  std::unique_ptr<Pipeline> p;
  ASSERT_TRUE(Pipeline::open(options(src, 1, 1, 1), &p).ok());
  Batch* b = nullptr;
  ASSERT_TRUE(p->acquire(BatchRequest{Phase::kTest, 1, 8, 1, 0}, &b).ok());
  EXPECT_EQ(b->labels()[0], 8.0f);
  EXPECT_EQ(b->replaced.load(), 0);  // a different size is not a defect
  // Expected: the 10 x 12 record decoded, each plane resized to 8 x 8.
  LmdbReader reader;
  ASSERT_TRUE(LmdbReader::open(src, &reader).ok());
  std::string value;
  ASSERT_TRUE(reader.get_at(8, &value).ok());
  DatumRecord record;
  ASSERT_TRUE(parse_datum(value, &record).ok());
  ChwImage im;
  DatumDecoder decoder;
  ASSERT_TRUE(decoder.decode(record, JpegColor::kNative, &im).ok());
  ASSERT_EQ(im.height, 10);
  ASSERT_EQ(im.width, 12);
  for (int c = 0; c < 3; ++c) {
    cv::Mat in(10, 12, CV_8UC1, im.u8.data() + c * 120), out;
    cv::resize(in, out, cv::Size(8, 8), 0, 0, cv::INTER_LINEAR);
    for (int i = 0; i < 64; ++i) {
      ASSERT_EQ(b->pixels()[c * 64 + i], out.data[i]) << "channel " << c << " pixel " << i;
    }
  }
  p->release(b);
  EXPECT_GE(p->stats().resized, 1);
}

TEST_F(PipelineRobustnessTest, StagesOverlap) {
  // read 12 ms/batch, decode 12 ms/batch (4 x 3 ms on one thread), consume
  // 12 ms/batch: run one after the other that is 20 x 36 ms.
  PipelineOptions o = options(raw_lmdb(16), 4, 1, 4);
  o.test_read_delay_s = 0.012;
  o.test_decode_delay_s = 0.003;
  std::unique_ptr<Pipeline> p;
  ASSERT_TRUE(Pipeline::open(o, &p).ok());
  const double t0 = pipeline_now_s();
  for (int it = 0; it < 20; ++it) {
    acquire_converted(*p, BatchRequest{Phase::kTrain, 1, it, 1, 0});
    std::this_thread::sleep_for(12ms);
  }
  const double wall = pipeline_now_s() - t0;
  EXPECT_LT(wall, 0.7 * 20 * 0.036) << "stages ran one after the other";
  const std::string line = summarize(p->stats());
  EXPECT_NE(line.find("read "), std::string::npos) << line;
  EXPECT_NE(line.find("decode "), std::string::npos) << line;
  EXPECT_NE(line.find("on 1 thread"), std::string::npos) << line;
  EXPECT_NE(line.find("bottleneck: "), std::string::npos) << line;
}

TEST(PipelineStatsTest, SummaryNamesTheBusiestStage) {
  PipelineStats s;
  s.wall_s = 10.0;
  s.decode_threads = 4;
  s.consumer = {0.0, 5.0, 100, 0};  // waited half the time
  s.read = {2.0, 0.0, 1000, 0};     // 20% busy, 500 rec/s
  s.decode = {36.0, 0.0, 1000, 0};  // 90% of 4 threads
  std::string line = summarize(s);
  EXPECT_EQ(line,
            "data wait 50% | read 500 rec/s | decode 111 img/s on 4 threads | bottleneck: decode "
            "(busy 90%)");
  s.consumer.wait_s = 0.1;  // 1%: the consumer (compute) is the limit
  EXPECT_NE(summarize(s).find("bottleneck: compute (busy 99%)"), std::string::npos);
  s.upload = {0.0, 0.0, 100, 2000000000};
  EXPECT_NE(summarize(s).find("upload 0.20 GB/s"), std::string::npos);
}

}  // namespace
}  // namespace banyan
