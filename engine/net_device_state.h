// Net::DeviceState: what a net on a CUDA worker keeps for its loss
// reduction (engine/net.cc allocates it, engine/net_run.cc uses it).
// Internal to engine/net*.cc.
#pragma once

#include <vector>

#include "engine/core/tensor.h"
#include "engine/net.h"
#ifdef BANYAN_WITH_CUDA
#include "cuda/memory.h"
#include "cuda/stream.h"
#endif

namespace banyan {

#ifdef BANYAN_WITH_CUDA
struct Net::DeviceState {
  Buffer partials;                  // cuda::kReducePartials doubles
  Buffer sums;                      // per slot, one double per loss output
  cuda::PinnedBuffer host_sums;     // their host copies
  std::vector<cuda::Event> copied;  // per slot: the host copy is complete
};
#else
struct Net::DeviceState {};
#endif

}  // namespace banyan
