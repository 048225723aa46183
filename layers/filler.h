// Parameter initialisation from a FillerConfig, counter-based: element i of a
// parameter gets the i-th draw of the stream keyed by `key` (the Net derives
// the key from the seed and "<layer>/<index>"), so every worker and replica
// fills the same values whatever the device layout.
#pragma once

#include <cstdint>

#include "engine/core/config.h"
#include "engine/core/status.h"
#include "engine/core/tensor.h"

namespace banyan {

// Fills blob->data() (host memory).  Definitions (as in Caffe):
//   constant: value;  uniform: U[min, max);  gaussian: N(mean, std);
//   xavier: U[-s, s], s = sqrt(3 / n);  msra: N(0, sqrt(2 / n));
//   n = fan_in = count / dim(0), fan_out = count / dim(1), or their mean,
//   by variance_norm.
Status fill_param(const FillerConfig& filler, uint64_t key, Blob* blob);

}  // namespace banyan
