// Per-stage statistics of the input pipeline: busy and waiting seconds and
// items per stage, counted lock-free by the stage threads, and the one-line
// summary the training log shows, naming the stage that limits throughput.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace banyan {

// Thread-safe counters of one stage (all threads of a stage share one).
class StageCounter {
 public:
  void add_busy(double seconds) { busy_ns_ += static_cast<int64_t>(seconds * 1e9); }
  void add_wait(double seconds) { wait_ns_ += static_cast<int64_t>(seconds * 1e9); }
  void add_items(int64_t n) { items_ += n; }
  void add_bytes(int64_t n) { bytes_ += n; }
  double busy_s() const { return busy_ns_.load() * 1e-9; }
  double wait_s() const { return wait_ns_.load() * 1e-9; }
  int64_t items() const { return items_.load(); }
  int64_t bytes() const { return bytes_.load(); }

 private:
  std::atomic<int64_t> busy_ns_{0}, wait_ns_{0}, items_{0}, bytes_{0};
};

// A copy of the counters at one moment, or the difference of two.
struct StageTimes {
  double busy_s = 0.0, wait_s = 0.0;
  int64_t items = 0, bytes = 0;
};

struct PipelineStats {
  double wall_s = 0.0;  // seconds covered
  int decode_threads = 0;
  StageTimes read;       // items: records read
  StageTimes decode;     // items: samples decoded; busy summed over threads
  StageTimes consumer;   // wait: time the training step waited for batches
  StageTimes upload;     // items: batches, bytes: host-to-device bytes queued
  int64_t replaced = 0;  // bad records replaced
  int64_t resized = 0;   // records resized to the dataset's size

  // this - earlier, for rates over an interval.
  PipelineStats since(const PipelineStats& earlier) const;
};

// "data wait 3% | read 40.1k rec/s | decode 14.2k img/s on 16 threads |
//  upload 2.1 GB/s | bottleneck: decode (busy 97%)".  Rates are what a stage
// achieves while busy (its capacity); the bottleneck is the stage with the
// highest busy fraction, "compute" when the consumer rarely waits.  The
// upload part appears only when uploads were counted.
std::string summarize(const PipelineStats& stats);

// Monotonic seconds.
double pipeline_now_s();

}  // namespace banyan
