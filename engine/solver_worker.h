// Solver::WorkerState: what the solver keeps per worker (its nets, its
// updated parameters, its update history).  Internal to engine/solver*.cc.
#pragma once

#include <memory>
#include <vector>

#include "engine/bucketed_exchange.h"
#include "engine/device_update.h"
#include "engine/net.h"
#include "engine/sgd_update.h"
#include "engine/solver.h"

namespace banyan {

struct Solver::WorkerState {
  std::unique_ptr<Net> train_net;
  std::vector<std::unique_ptr<Net>> test_nets;
  // The updated parameters (learnable, lr_mult != 0) and their buffer spans.
  std::vector<const NetParam*> updated;
  std::vector<UpdateSpan> spans;
  Buffer history;  // history_slots(type) arrays of param_count() floats
  std::unique_ptr<DeviceUpdater> device_updater;  // CUDA workers
  uint64_t checksum = 0;                          // of the parameters after the last update
  bool nonfinite = false;         // the last checked step's loss or gradients were not all finite
  std::vector<double> test_sums;  // per output of the test net last run
  // The gradient exchange overlapped with backward (several groups only).
  // Declared last: destroyed first, while the net it reads is still alive.
  std::unique_ptr<BucketedExchange> exchange;
};

}  // namespace banyan
