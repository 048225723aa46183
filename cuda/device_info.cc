// Queries the CUDA runtime for devices: the first piece of the cuda/ floor.
// Everything else of the GPU backend builds on these wrappers.
#include "cuda/device_info.h"

#include <cuda_runtime.h>

namespace banyan::cuda {

int DeviceCount() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

}  // namespace banyan::cuda
