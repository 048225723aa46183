// WorkerContext: what one worker (one host thread bound to one device) owns
// and what every layer call receives: its device, its place in the worker
// groups, the solver seed, the current step (for counter-based randomness)
// and a scratch workspace planned by the Net; on a CUDA device also its
// streams and library handles (GpuResources).  Not thread-safe: one worker,
// one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "engine/core/config.h"
#include "engine/core/cpu_threads.h"
#include "engine/core/device.h"
#include "engine/core/status.h"

namespace banyan {

// Where a worker sits: group g of G replicas, rank k of K partitions.
// group_index / num_groups count the groups of every process of the run
// (they key the data slices and the gradient averaging); local_group_index
// is the group's index among this process's groups (its transfer hub, its
// place in the in-process exchange).  With one process they agree.
struct WorkerPlacement {
  int group_index = 0;
  int num_groups = 1;
  int rank_in_group = 0;
  int group_size = 1;
  int local_group_index = 0;
};

// The step being computed.  Layers key their randomness by it so that any
// worker layout draws the same numbers for the same global sample.
struct StepInfo {
  Phase phase = Phase::kTrain;
  // TRAIN: the solver iteration times iter_size plus the accumulation index
  // (one forward pass per value).  TEST: the batch index within a test pass.
  int64_t iteration = 0;
  // Global index of the first sample of this worker group's slice of this
  // forward pass: iteration * (num_groups * batch_size) + group_index *
  // batch_size.  Sample n of the slice is global sample sample_base + n; it
  // keys per-sample randomness (dropout masks, crops), so 1 worker with batch
  // G*B, G groups of B, and iter_size accumulation all draw the same numbers.
  int64_t sample_base = 0;
};

// Settings of a worker on a CUDA device.
struct GpuOptions {
  // Lets FP32 convolutions and GEMMs use TF32 tensor cores (PyTorch's cuDNN
  // default); false keeps full FP32 everywhere.
  bool allow_tf32 = true;
  // Synchronises after every layer and checks for errors, naming the layer,
  // to pin down asynchronous faults.  Slow; for debugging.
  bool debug_sync = false;
  // Deterministic algorithm choices (like PyTorch's cudnn.deterministic):
  // convolutions take fixed deterministic cuDNN algorithms instead of the
  // fastest measured ones, so two runs, and runs with different batch
  // splits, use the same algorithms.  Slower; for tests comparing GPU runs
  // and for users who need reproducible bits.
  bool deterministic = false;
};

class GpuResources;  // engine/core/gpu_resources.h, CUDA builds only

class WorkerContext {
 public:
  WorkerContext(Device device, uint64_t seed, WorkerPlacement placement = {});
  ~WorkerContext();
  WorkerContext(const WorkerContext&) = delete;
  WorkerContext& operator=(const WorkerContext&) = delete;

  // For a CUDA device: creates the worker's streams and handles and makes
  // the device current on the calling thread, which must be the worker's
  // thread (errors name the device; Unimplemented in builds without CUDA).
  // No-op on the CPU.  Call once, before building nets on this context.
  Status init_device(const GpuOptions& options = {});
  // The CUDA resources; CHECKs that init_device ran on a CUDA device.
  GpuResources& gpu() const;
  bool has_gpu() const { return gpu_ != nullptr; }

  Device device() const { return device_; }
  // A CPU worker's threads and backend; threads 0 becomes
  // default_cpu_threads().  Set before building nets on this context.
  const CpuOptions& cpu() const { return cpu_; }
  void set_cpu_options(const CpuOptions& options);
  uint64_t seed() const { return seed_; }
  const WorkerPlacement& placement() const { return placement_; }

  StepInfo& step() { return step_; }
  const StepInfo& step() const { return step_; }

  // Scratch shared by all layers of a net; valid during forward/backward.
  // The Net sizes it to the largest layer's request at setup.
  float* workspace() const { return workspace_; }
  size_t workspace_floats() const { return workspace_floats_; }
  void set_workspace(float* ws, size_t floats) {
    workspace_ = ws;
    workspace_floats_ = floats;
  }

  // Errors caused by data during forward/backward (a bad record with
  // bad_record_fatal, an LMDB that fails mid-run), which the layer calls
  // cannot return: a layer reports one and does nothing more, the Net runs
  // no later layer of the pass, and whoever drives the net takes the error
  // after the call.  The first report is kept until taken.
  void report_error(const Status& error) {
    if (error_.ok()) error_ = error;
  }
  bool has_error() const { return !error_.ok(); }
  // The reported error (success if none), cleared.
  Status take_error() {
    Status e;
    std::swap(e, error_);
    return e;
  }

 private:
  Device device_;
  uint64_t seed_;
  WorkerPlacement placement_;
  CpuOptions cpu_;
  StepInfo step_;
  float* workspace_ = nullptr;
  size_t workspace_floats_ = 0;
  Status error_;
  std::unique_ptr<GpuResources> gpu_;
};

}  // namespace banyan
