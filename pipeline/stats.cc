// Pipeline statistics: interval differences and the summary line.
#include "pipeline/stats.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace banyan {
namespace {

StageTimes minus(const StageTimes& a, const StageTimes& b) {
  return {a.busy_s - b.busy_s, a.wait_s - b.wait_s, a.items - b.items, a.bytes - b.bytes};
}

std::string rate_text(double per_s) {
  char buf[32];
  if (per_s >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.1fM", per_s / 1e6);
  } else if (per_s >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1fk", per_s / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f", per_s);
  }
  return buf;
}

}  // namespace

double pipeline_now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

PipelineStats PipelineStats::since(const PipelineStats& earlier) const {
  PipelineStats d = *this;
  d.wall_s = wall_s - earlier.wall_s;
  d.read = minus(read, earlier.read);
  d.decode = minus(decode, earlier.decode);
  d.consumer = minus(consumer, earlier.consumer);
  d.upload = minus(upload, earlier.upload);
  d.replaced = replaced - earlier.replaced;
  d.resized = resized - earlier.resized;
  return d;
}

std::string summarize(const PipelineStats& s) {
  if (s.wall_s <= 0.0 || s.consumer.items == 0) return "";
  const double wall = s.wall_s;
  const int threads = std::max(s.decode_threads, 1);
  const double wait_frac = std::min(s.consumer.wait_s / wall, 1.0);
  const double read_frac = std::min(s.read.busy_s / wall, 1.0);
  const double decode_frac = std::min(s.decode.busy_s / (wall * threads), 1.0);
  std::string line = "data wait " + std::to_string(static_cast<int>(wait_frac * 100 + 0.5)) + "%";
  line += " | read " + rate_text(s.read.items / std::max(s.read.busy_s, 1e-9)) + " rec/s";
  line += " | decode " + rate_text(s.decode.items / std::max(s.decode.busy_s / threads, 1e-9)) +
          " img/s on " + std::to_string(threads) + (threads == 1 ? " thread" : " threads");
  if (s.upload.items > 0) {
    char buf[48];
    std::snprintf(buf, sizeof(buf), " | upload %.2f GB/s", s.upload.bytes / wall / 1e9);
    line += buf;
  }
  // The consumer is the limit unless it waits a noticeable part of the time.
  std::string bottleneck = "compute";
  double busy = 1.0 - wait_frac;
  if (wait_frac > 0.05) {
    bottleneck = read_frac >= decode_frac ? "read" : "decode";
    busy = std::max(read_frac, decode_frac);
  }
  line += " | bottleneck: " + bottleneck + " (busy " +
          std::to_string(static_cast<int>(busy * 100 + 0.5)) + "%)";
  if (s.replaced > 0) line += " | " + std::to_string(s.replaced) + " bad records replaced";
  return line;
}

}  // namespace banyan
