// Device discovery through the CUDA runtime: how many GPUs this process sees
// and what they are.  Never an error on machines without a driver or GPU.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace banyan::cuda {

struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  size_t total_memory = 0;   // bytes
  int major = 0, minor = 0;  // compute capability
  int multiprocessors = 0;
  std::string pci_bus_id;  // "0000:3b:00.0"
};

// Number of CUDA devices visible to this process; 0 when there is no driver
// or no GPU (CPU-only machines are normal).
int device_count();

// Properties of every visible device; empty when there are none.
// `error` (may be null) receives the runtime's message when the query failed.
std::vector<DeviceInfo> query_devices(std::string* error = nullptr);

}  // namespace banyan::cuda
