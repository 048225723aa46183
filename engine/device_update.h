// The solver's per-iteration update on a CUDA worker: iter_size scaling,
// global-norm clipping (the factor stays on the device, so no host sync) and
// the fused SGD / Nesterov / AdaGrad / Adam kernel over the whole parameter
// buffer, all on the worker's compute stream.  Mirrors engine/sgd_update.h;
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
  // clip > 0, then the update of `rule`.  Queued on the compute stream;
  // returns without waiting.
  void step(const UpdateRule& rule, int iter_size, float clip, float* data, float* diff,
            float* history0, float* history1);

 private:
  DeviceUpdater() = default;
  struct State;
  WorkerContext* ctx_ = nullptr;
  std::unique_ptr<State> state_;
};

}  // namespace banyan
