// JSON-lines metrics: one JSON object per line, appended to a file and
// flushed line by line, so a plotting script can read a run while it trains
// and a resumed run continues the same file.  No JSON library needed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/status.h"

namespace banyan {

// One line: {"iter":100,"phase":"train","loss":0.31,"lr":0.01,...}.  The
// values follow iter and phase in the order given; non-finite values are
// written as null (JSON has no NaN).
struct MetricsLine {
  int64_t iter = 0;
  std::string phase;  // "train" or "test"
  std::vector<std::pair<std::string, double>> values;
};

// Formats `line` as one JSON object without the trailing newline.
std::string format_metrics_line(const MetricsLine& line);

// Appends lines to one file.  Move-only; not thread-safe.
class MetricsWriter {
 public:
  MetricsWriter() = default;
  MetricsWriter(MetricsWriter&&) = default;
  MetricsWriter& operator=(MetricsWriter&&) = default;
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  // Opens `path` for appending, creating it when missing.  IoError naming
  // the path and the reason.
  static Status open(const std::string& path, MetricsWriter* out);

  bool is_open() const { return file_ != nullptr; }
  const std::string& path() const { return path_; }

  // Writes one line and flushes it.  IoError naming the path on failure.
  Status write(const MetricsLine& line);

 private:
  struct Closer {
    void operator()(std::FILE* f) const {
      if (f != nullptr) std::fclose(f);
    }
  };
  std::string path_;
  std::unique_ptr<std::FILE, Closer> file_;
};

}  // namespace banyan
