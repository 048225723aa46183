// Solver: trains the net of a SolverConfig on the workers of
// engine/workers.h (one worker is the case of one group of one).  Each
// iteration every worker runs iter_size forward/backward passes of its
// partition of its group's replica; then the gradients of each rank are
// summed across the groups (one AllReduce per rank), divided by
// iter_size x groups, clipped, regularised, and every replica applies the
// same update rule (engine/sgd_update.h) at the policy's learning rate
// (engine/lr_policy.h), so replicas stay bitwise equal.  Test passes, display logs,
// JSON-lines metrics and snapshots (engine/weights_file.h) happen on their
// intervals.  Resume is exact: randomness and data order are pure functions
// of (seed, iteration, sample), so iteration + parameters + update history
// determine every later step bit for bit.  Not thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/config.h"
#include "engine/core/context.h"
#include "engine/core/device.h"
#include "engine/core/status.h"
#include "engine/core/tensor.h"
#include "engine/exchange/exchange.h"
#include "engine/metrics.h"
#include "engine/net.h"
#include "engine/sgd_update.h"
#include "engine/weights_file.h"
#include "engine/workers.h"

namespace banyan {

class DeviceUpdater;  // engine/device_update.h

// The seed used when SolverConfig::random_seed is -1, so that runs without a
// seed are reproducible too.
inline constexpr uint64_t kDefaultSolverSeed = 1;

struct SolverOptions {
  // The one worker's device when `devices` is empty.
  Device device;
  // The workers, one per entry (ids may repeat); consecutive runs of
  // group_size workers form a group holding one replica of the model, split
  // by LayerConfig::partition (partition mod group_size).  The batch size of
  // the config is per group.
  std::vector<Device> devices;
  int group_size = 1;
  // After every update, compares a checksum of the parameters of every
  // replica and fails naming the workers when they differ (debugging).
  bool check_replicas = false;
  // The gradient exchange among groups (DESIGN §5): auto, the tree, or NCCL.
  ExchangeBackend exchange = ExchangeBackend::kAuto;
  // The exchange runs in buckets of about this many bytes, each sent as soon
  // as backward has finished its layers (layer boundaries; overlap).
  size_t exchange_bucket_bytes = size_t{16} << 20;
  // Settings of a CUDA worker (TF32, per-layer debug synchronisation).
  GpuOptions gpu;
  // Settings of the CPU workers (threads of all of them together, backend).
  CpuOptions cpu;
  // JSON-lines metrics file (engine/metrics.h), appended to; empty: none.
  std::string metrics_path;
  // Called after each test pass once its metrics line is written (so only
  // where metrics_path is set, on rank 0); must return quickly (bin/'s
  // --plot starts a redraw in a child process).  Empty: nothing.
  std::function<void()> after_test_pass;
  // Polled once per iteration by Solve (set by the SIGINT/SIGTERM handlers
  // in bin/); must outlive the solver.  Null: never stops early.  With
  // several processes a stop anywhere stops all at the same iteration.
  const std::atomic<bool>* stop_requested = nullptr;
  // A periodic snapshot that cannot be written (disk full, folder gone or
  // read-only) stops training with an error by default; with this set the
  // error is logged and training goes on (a snapshot on a stop request or at
  // the end still fails the run).  Either way the files of the last good
  // snapshot are kept and named.
  bool continue_on_snapshot_error = false;
  // A step whose loss or gradients hold a NaN or an infinity.  CPU workers
  // check every step before its update: kStop ends training at that
  // iteration with an error naming the first layer whose output or
  // gradient went non-finite and the last good snapshot (none is written);
  // kSkipStep skips the update (the iteration still counts), logs the same
  // line and stops once nan_skip_limit steps in a row were skipped.  CUDA
  // workers see a non-finite loss kLossLag iterations late (checking every
  // step would synchronise it) and always stop; kSkipStep is refused there.
  enum class NanPolicy { kStop, kSkipStep };
  NanPolicy nan_policy = NanPolicy::kStop;
  int nan_skip_limit = 10;
  // The processes of the run (engine/exchange/cluster.h); null: this one.
  // Every process builds a solver with the same config and its own
  // `devices` (same count and group_size); the groups of all processes train
  // one model.  Losses, outputs and test results are reduced over all of
  // them; rank 0 alone writes metrics and snapshots.  Must outlive the solver.
  Cluster* cluster = nullptr;
};

// One test pass's results per test net: (output name, mean value).
using TestResults = std::vector<std::vector<std::pair<std::string, float>>>;

class Solver {
 public:
  // Validates `config` (policy, update rule, intervals, snapshot directory)
  // and the worker layout, starts the workers and builds on each its train
  // net (Phase::kTrain) and one test net (Phase::kTest) per test_iter entry,
  // each evaluating the train net's parameters
  // (NetBuildOptions::share_params_from).  Logs the global batch and every
  // worker's memory.  Seed: config.random_seed, or
  // kDefaultSolverSeed when it is -1.  CUDA devices need every layer's GPU
  // code (Net::create says which is missing).  precision: BF16 trains with
  // bfloat16 activations and FP32 master weights, optimizer state and losses
  // (NetBuildOptions::precision), on CPU workers for now (refused on CUDA
  // workers).  clip_gradients uses the whole replica's norm, also when it is
  // split into partitions (on the CPU and on GPUs).
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
  // mean of each output.  Batch b goes to group b mod groups and reads what
  // one worker's batch b reads, so results do not depend on the layout.  `results` (optional)
  // receives them per test net.
  Status test_all(TestResults* results = nullptr);

  // Writes <prefix>_iter_<N>.banyan (weights) and <prefix>_iter_<N>.solverstate,
  // both atomically, from replica 0 (gathered from its partitions, named as
  // in a one-worker run); the prefix is snapshot_prefix, or the solver file's
  // name without extension.  `weights_path` (optional) receives the first name.
  // When a file cannot be written nothing of this snapshot is left behind
  // and the error names the last good snapshot, which is untouched.
  Status snapshot(std::string* weights_path = nullptr);

  // Exact resume from a .solverstate file into every replica: the paired
  // weights file (every parameter must be present), the update history and
  // the iteration.  The
  // solver type must match the state's.  On error the parameters may be
  // partly overwritten.
  Status restore(const std::string& solverstate_path);

  // Fine-tuning: copies matching parameters (by "<layer>/<index>") from
  // each weights file of the comma-separated list, in order.
  Status load_weights(const std::string& paths);

  int64_t iteration() const { return iter_; }
  const SolverConfig& config() const { return config_; }
  // Worker 0's nets (the whole net with one worker per group).
  Net& train_net() { return train_net(0); }
  const std::vector<std::unique_ptr<Net>>& test_nets() { return test_nets(0); }
  Net& train_net(int worker);
  const std::vector<std::unique_ptr<Net>>& test_nets(int worker);
  Workers& workers() { return *workers_; }
  // The loss of the last iteration (mean over its iter_size passes) and its
  // average over the last average_loss iterations.
  float last_loss() const { return losses_.empty() ? 0.0f : losses_.back(); }
  float smoothed_loss() const;

 private:
  Solver(const SolverConfig& config, const SolverOptions& options);
  struct WorkerState;
  Status init(const NetConfig& net);
  Status init_worker(int worker, const NetConfig& net);
  void log_layout(uint64_t seed) const;
  Status train_iteration();
  // One worker's part of an iteration: gradients (forward/backward passes
  // and the exchange), then the update.  With `check` (CPU workers) the
  // gradients step also sets the worker's `nonfinite` verdict, agreed by
  // the partitions of its group.
  Status train_worker(int worker, float lr);
  Status compute_gradients(int worker, bool check);
  Status update_worker(int worker, float lr);
  // After a checked step found a NaN or an infinity: names where (the
  // first layer, over the workers), then stops or skips (nan_policy).
  Status handle_nonfinite();
  // "the last good snapshot is '<state>' (iteration N)", or "no snapshot was
  // written before it".
  std::string last_good_snapshot() const;
  Status clip_across_partitions(int worker);
  Status check_replicas();
  // BatchNorm's running statistics (the parameters no update touches) are
  // each replica's own while training, from its slice of every batch.
  // Before a test pass or a snapshot every replica takes their mean over
  // all groups of all processes.  The running averages are linear in each
  // batch's statistics and equal at the last averaging, so the mean is
  // what one accumulator fed the mean of the slices' statistics would hold,
  // whenever it is taken.  Exact (double sums) when the replicas agree.
  Status average_running_statistics();
  Status test_worker(int worker, size_t test_net);
  // The test outputs of test net `i` summed over its batches, merged over
  // every worker in the one-worker output order: (name, sum, loss weight).
  void merge_test_sums(size_t i, std::vector<std::pair<NetOutput, double>>* merged) const;
  // The train nets' outputs (name, mean over the groups' slices of the
  // global batch) in the one-worker order.
  std::vector<std::pair<std::string, double>> train_outputs();
  Status display(float lr);
  Status stop_with_snapshot();
  // Pairs each history slot's arrays with updated_, in order; InvalidArgument
  // naming `path` when a parameter's array is missing or has another shape.
  // (for worker `worker`'s updated parameters).
  Status match_history(const std::string& path, const std::vector<std::vector<NamedArray>>& history,
                       int worker, std::vector<std::vector<const NamedArray*>>* matched) const;
  Status write_snapshot_files(const std::string& weights, const std::string& state);
  bool test_due() const;
  std::string snapshot_prefix() const;
  // Removes <prefix>_iter_<N>.{banyan,solverstate}.tmp left in the snapshot
  // folder by a run that was killed while writing a snapshot.
  void remove_stale_snapshot_temps() const;
  float* history(int worker, int slot) const;
  DType activation_dtype() const;                            // config_.precision as an element type
  int num_groups() const { return workers_->num_groups(); }  // this process's
  int global_groups() const { return workers_->global_groups(); }
  bool lead() const { return options_.cluster == nullptr || options_.cluster->rank() == 0; }
  // Sums `n` doubles over the processes (every process calls it at the same
  // point); no-op with one process.
  Status sum_over_processes(double* values, size_t n);
  std::unique_ptr<ProcessComm> process_comm_;  // the solver's scalars

  SolverConfig config_;
  SolverOptions options_;
  std::unique_ptr<Workers> workers_;
  std::vector<std::unique_ptr<WorkerState>> states_;  // per worker
  // Per group, its workers' device updaters in rank order (CUDA workers).
  std::vector<std::vector<DeviceUpdater*>> group_updaters_;
  int64_t batch_ = 0;                  // per group, train net
  std::vector<int64_t> test_batches_;  // per group, per test net
  MetricsWriter metrics_;

  int64_t iter_ = 0;
  int64_t last_snapshot_iter_ = -1;
  std::string last_snapshot_state_;                 // its .solverstate ("" before the first)
  int64_t failed_snapshots_ = 0;                    // periodic ones, continue_on_snapshot_error
  int64_t skipped_in_row_ = 0, skipped_steps_ = 0;  // NanPolicy::kSkipStep
  std::set<int64_t> skipped_iters_;                 // skipped, loss not yet resolved
  std::deque<float> losses_;                        // the last average_loss iteration losses
  // Losses are read kLossLag iterations late (Net::forward_deferred; the
  // train net has (kLossLag + 1) x iter_size loss slots), so the
  // host never waits for the device in the step; display, step() and the
  // end of training read them all.  The first iteration not yet in losses_
  // (-1: none pending).
  static constexpr int kLossLag = 2;
  int64_t unresolved_from_ = -1;
  // The Net loss slot of pass `pass` of `iteration`.
  int loss_slot(int64_t iteration, int pass) const;
  // Appends the losses of the iterations before `end` not yet read (waits
  // for them); Internal naming the iteration when one is not finite.
  Status resolve_losses(int64_t end);
  // Timing for the display lines: training time only, test passes excluded.
  bool started_ = false;
  double start_seconds_ = 0.0;
  double train_seconds_since_display_ = 0.0;
  int64_t iters_since_display_ = 0;
};

}  // namespace banyan
