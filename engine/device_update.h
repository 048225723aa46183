// The solver's per-iteration update on a CUDA worker: iter_size scaling,
// global-norm clipping (the factor stays on the device, so no host sync; for
// a replica split into partitions the norm spans them all) and the fused
// SGD / Nesterov / AdaGrad / Adam kernel over the whole parameter buffer,
// all on the worker's compute stream.  Mirrors engine/sgd_update.h;
// the CPU path uses that directly.  Compiled to stubs without CUDA.
#pragma once

#include <memory>
#include <vector>

#include "engine/core/context.h"
#include "engine/core/status.h"
#include "engine/sgd_update.h"

namespace banyan {

class DeviceUpdater {
 public:
  // Uploads the spans and allocates the reduction scratch on ctx's device
  // (setup only).  Unimplemented in builds without CUDA.
  static Status create(WorkerContext& ctx, const std::vector<UpdateSpan>& spans,
                       std::unique_ptr<DeviceUpdater>* out);
  ~DeviceUpdater();
  DeviceUpdater(const DeviceUpdater&) = delete;
  DeviceUpdater& operator=(const DeviceUpdater&) = delete;

  // One step: diff *= 1 / iter_size when iter_size > 1, clipping when
  // clip > 0 (by this buffer's own norm: a whole replica), then the update
  // of `rule`.  Queued on the compute stream; returns without waiting.
  void step(const UpdateRule& rule, int iter_size, float clip, float* data, float* diff,
            float* history0, float* history1);

  // The same step when the replica is split into partitions and clip > 0:
  // the norm is the whole replica's, from every partition's sum of squares.
  // `group` lists the updaters of the group's workers in rank order (this
  // one among them); each rank calls, from its own thread:
  //   1. begin_step: the iter_size scaling, then (once every partition has
  //      read this one's previous sum of squares) the new sum of squares;
  //   2. a host barrier across the group (Workers::group_sum), so every
  //      partition's begin_step has been queued;
  //   3. finish_step: copies every partition's sum of squares (peer copies,
  //      ordered by events), sums them in rank order, so every partition
  //      gets the same factor bit for bit, clips and updates.
  // All on the compute streams; the host never waits for the device.
  void begin_step(int iter_size, float* diff, const std::vector<DeviceUpdater*>& group);
  void finish_step(const UpdateRule& rule, float clip, const std::vector<DeviceUpdater*>& group,
                   float* data, float* diff, float* history0, float* history1);

 private:
  DeviceUpdater() = default;
  void update(const UpdateRule& rule, const float* grad_scale, float* data, float* diff,
              float* history0, float* history1);
  struct State;
  WorkerContext* ctx_ = nullptr;
  std::unique_ptr<State> state_;
};

}  // namespace banyan
