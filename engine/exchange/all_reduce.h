// AllReduce: the sum-all-reduce that data parallelism runs once per
// partition (DESIGN §5): the n workers that hold the same partition each
// bring a gradient buffer of the same length and each leave with the
// elementwise sum of all n.  Backends: the engine's topology-aware tree
// (CPU memcpy + sum, GPU peer copies + sum kernel) and NCCL.
#pragma once

#include <cstddef>
#include <string>

#include "engine/core/status.h"

namespace banyan {

class AllReduce {
 public:
  virtual ~AllReduce() = default;

  // Number of participants; ranks are 0 .. size() - 1.
  virtual int size() const = 0;

  // Called concurrently by every participant's own thread, once per
  // collective, all with the same `count`.  Replaces `data` (count floats in
  // the participant's device memory) with the elementwise sum over all
  // participants; the result is bitwise identical on every rank, and the
  // summation order is fixed by the backend's structure (not by timing), so
  // a rerun gives the same bits.  CPU participants: returns when the sum is
  // in place (`stream` is ignored).  CUDA participants: enqueues the work on
  // `stream` (a cudaStream_t of the participant's device, passed as void* so
  // CPU-only builds compile) and returns; the caller orders around it with
  // events.  Errors: Aborted when abort() was called, naming who aborted.
  virtual Status all_reduce(int rank, float* data, size_t count, void* stream) = 0;

  // Makes every pending and later all_reduce call return Aborted with
  // `reason`, so one failing worker never leaves its peers waiting.
  // Thread-safe; idempotent.
  virtual void abort(const std::string& reason) = 0;
};

}  // namespace banyan
