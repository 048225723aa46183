// Queries the CUDA runtime for devices.
#include "cuda/device_info.h"

#include <cuda_runtime.h>

namespace banyan::cuda {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the "no device" error
    return 0;
  }
  return n;
}

std::vector<DeviceInfo> query_devices(std::string* error) {
  std::vector<DeviceInfo> out;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (error != nullptr) *error = cudaGetErrorString(e);
    cudaGetLastError();
    return out;
  }
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p;
    if ((e = cudaGetDeviceProperties(&p, i)) != cudaSuccess) {
      if (error != nullptr) *error = "device " + std::to_string(i) + ": " + cudaGetErrorString(e);
      continue;
    }
    DeviceInfo d;
    d.ordinal = i;
    d.name = p.name;
    d.total_memory = p.totalGlobalMem;
    d.major = p.major;
    d.minor = p.minor;
    d.multiprocessors = p.multiProcessorCount;
    char bus[32] = {0};
    if (cudaDeviceGetPCIBusId(bus, sizeof(bus), i) == cudaSuccess) d.pci_bus_id = bus;
    out.push_back(d);
  }
  return out;
}

}  // namespace banyan::cuda
