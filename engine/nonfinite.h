// Finding where a training step went non-finite: after a step whose loss or
// gradients hold a NaN or an infinity, names the first place it shows, in
// the order the step computed it: a parameter that already held one, then
// each layer's outputs in forward order, then each layer's input and
// parameter gradients in backward order.  Activations and their diffs have
// storage of their own (no reuse within a pass), so the last pass's values
// are all still there; an in-place layer shares its bottom's storage and is
// named only when the layer before it was finite.  Only for the failing
// step: it copies blobs to the host.
#pragma once

#include <string>

#include "engine/core/status.h"
#include "engine/net.h"

namespace banyan {

struct NonFinite {
  bool found = false;
  // 0: a parameter's value, 1: a forward output, 2: a gradient.
  int stage = 0;
  int layer = -1;  // the layer's index in the net
  // "output 'conv2' of layer 'conv2' (Convolution): NaN at element 17 of 36864".
  std::string what;

  // Whether this place comes before `other` in the step's order.
  bool before(const NonFinite& other) const;
};

// Scans `net` (any device; values copied to the host) after a forward and
// backward pass.  Errors only when a copy fails.
Status find_first_nonfinite(const Net& net, NonFinite* out);

}  // namespace banyan
