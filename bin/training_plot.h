// `banyan train --plot=FILE.png`: reruns benchmarks/plot_training.py on the
// run's metrics file after every test pass, in a child process, so the
// picture stays current without the training step ever waiting for it.
#pragma once

#include <sys/types.h>

#include <string>

#include "engine/core/status.h"

namespace banyan {

class TrainingPlot {
 public:
  // The script: $BANYAN_PLOT_SCRIPT, else the source tree's
  // benchmarks/plot_training.py; the python: $BANYAN_PYTHON, else python3
  // or /usr/bin/python3, whichever first can run it with
  // matplotlib (NotFound for a missing script, Unimplemented with the reason
  // when no python can run it: the script names the Debian
  // package).
  static Status create(const std::string& metrics_path, const std::string& png_path,
                       TrainingPlot* out);

  TrainingPlot() = default;
  TrainingPlot(const TrainingPlot&) = delete;
  TrainingPlot& operator=(const TrainingPlot&) = delete;
  ~TrainingPlot();

  // Starts a redraw unless one is running (then one runs once it is done,
  // at the next call or at finish()).  Never blocks.
  void refresh();
  // Waits for a running redraw and draws once more, waiting for it; the
  // picture then shows every line of the metrics file.  Logs a failure.
  void finish();

 private:
  // Reaps a finished child; true while one is running.
  bool busy();
  void start();

  std::string python_, script_, metrics_, png_;
  pid_t child_ = -1;
};

}  // namespace banyan
