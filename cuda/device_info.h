// Device discovery through the CUDA runtime.
#pragma once

namespace banyan::cuda {

// Number of CUDA devices visible to this process; 0 when there is no driver
// or no GPU (never an error: CPU-only machines are normal).
int DeviceCount();

}  // namespace banyan::cuda
