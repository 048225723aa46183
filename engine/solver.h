// Solver: trains the net of a SolverConfig on one worker.  Each iteration
// runs iter_size forward/backward passes, averages the gradients, clips
// them, regularises and applies the update rule (engine/sgd_update.h) at the
// policy's learning rate (engine/lr_policy.h).  Test passes, display logs,
// JSON-lines metrics and snapshots (engine/weights_file.h) happen on their
// intervals.  Resume is exact: randomness and data order are pure functions
// of (seed, iteration, sample), so iteration + parameters + update history
// determine every later step bit for bit.  Not thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/config.h"
#include "engine/core/context.h"
#include "engine/core/device.h"
#include "engine/core/status.h"
#include "engine/core/tensor.h"
#include "engine/metrics.h"
#include "engine/net.h"
#include "engine/sgd_update.h"
#include "engine/weights_file.h"

namespace banyan {

// The seed used when SolverConfig::random_seed is -1, so that runs without a
// seed are reproducible too.
inline constexpr uint64_t kDefaultSolverSeed = 1;

struct SolverOptions {
  // The one worker's device: the CPU or a CUDA device.
  Device device;
  // Settings of a CUDA worker (TF32, per-layer debug synchronisation).
  GpuOptions gpu;
  // JSON-lines metrics file (engine/metrics.h), appended to; empty: none.
  std::string metrics_path;
  // Polled once per iteration by Solve (set by the SIGINT/SIGTERM handlers
  // in bin/); must outlive the solver.  Null: never stops early.
  const std::atomic<bool>* stop_requested = nullptr;
};

// One test pass's results per test net: (output name, mean value).
using TestResults = std::vector<std::vector<std::pair<std::string, float>>>;

class Solver {
 public:
  // Validates `config` (policy, update rule, intervals, snapshot directory),
  // builds the train net (Phase::kTrain) and one test net (Phase::kTest) per
  // test_iter entry, each evaluating the train net's parameters
  // (NetBuildOptions::share_params_from).  Seed: config.random_seed, or
  // kDefaultSolverSeed when it is -1.  CUDA devices need every layer's GPU
  // code (Net::create says which is missing); BF16 precision is not
  // implemented yet.
  static Status create(const SolverConfig& config, const NetConfig& net,
                       const SolverOptions& options, std::unique_ptr<Solver>* out);
  ~Solver();
  Solver(const Solver&) = delete;
  Solver& operator=(const Solver&) = delete;

  // Trains from the current iteration up to max_iter: a test pass whenever
  // the iteration is a multiple of test_interval (at iteration 0 only with
  // test_initialization), display every `display` iterations, a snapshot
  // after every `snapshot`-th iteration and at the end (snapshot_after_train),
  // and a final test pass when max_iter is a multiple of test_interval.
  // When the stop flag is set: snapshots (unless this iteration was just
  // snapshotted) and returns Cancelled naming the iteration and the file.
  Status solve();

  // Runs `iterations` training iterations (each = iter_size forward/backward
  // passes + one update), logging on display iterations.  No test passes,
  // snapshots or stop checks.
  Status step(int iterations);

  // One pass per test net over its test_iter batches; logs and records the
  // mean of each output.  `results` (optional) receives them per test net.
  Status test_all(TestResults* results = nullptr);

  // Writes <prefix>_iter_<N>.banyan (weights) and <prefix>_iter_<N>.solverstate,
  // both atomically; the prefix is snapshot_prefix, or the solver file's
  // name without extension.  `weights_path` (optional) receives the first name.
  Status snapshot(std::string* weights_path = nullptr);

  // Exact resume from a .solverstate file: the paired weights file (every
  // parameter must be present), the update history and the iteration.  The
  // solver type must match the state's.  On error the parameters may be
  // partly overwritten.
  Status restore(const std::string& solverstate_path);

  // Fine-tuning: copies matching parameters (by "<layer>/<index>") from
  // each weights file of the comma-separated list, in order.
  Status load_weights(const std::string& paths);

  int64_t iteration() const { return iter_; }
  const SolverConfig& config() const { return config_; }
  Net& train_net() { return *train_net_; }
  const std::vector<std::unique_ptr<Net>>& test_nets() { return test_nets_; }
  // The loss of the last iteration (mean over its iter_size passes) and its
  // average over the last average_loss iterations.
  float last_loss() const { return losses_.empty() ? 0.0f : losses_.back(); }
  float smoothed_loss() const;

 private:
  Solver(const SolverConfig& config, const SolverOptions& options);
  Status init(const NetConfig& net);
  Status train_iteration();
  Status display(float lr);
  Status stop_with_snapshot();
  // Pairs each history slot's arrays with updated_, in order; InvalidArgument
  // naming `path` when a parameter's array is missing or has another shape.
  Status match_history(const std::string& path, const std::vector<std::vector<NamedArray>>& history,
                       std::vector<std::vector<const NamedArray*>>* matched) const;
  bool test_due() const;
  std::string snapshot_prefix() const;
  float* history(int slot) const;

  SolverConfig config_;
  SolverOptions options_;
  std::unique_ptr<WorkerContext> ctx_;
  std::unique_ptr<Net> train_net_;
  std::vector<std::unique_ptr<Net>> test_nets_;
  // The updated parameters (learnable, lr_mult != 0) and their buffer spans.
  std::vector<const NetParam*> updated_;
  std::vector<UpdateSpan> spans_;
  Buffer history_;  // history_slots(type) arrays of param_count() floats
  std::unique_ptr<class DeviceUpdater> device_updater_;  // CUDA workers
  MetricsWriter metrics_;

  int64_t iter_ = 0;
  int64_t last_snapshot_iter_ = -1;
  std::deque<float> losses_;  // the last average_loss iteration losses
  // Timing for the display lines: training time only, test passes excluded.
  bool started_ = false;
  double start_seconds_ = 0.0;
  double train_seconds_since_display_ = 0.0;
  int64_t iters_since_display_ = 0;
};

}  // namespace banyan
