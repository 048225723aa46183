// Creation of a CUDA worker's streams and handles; see gpu_resources.h.
#ifdef BANYAN_WITH_CUDA

#include "engine/core/gpu_resources.h"

#include <cuda_runtime_api.h>

#include "cuda/memory.h"

namespace banyan {

Status GpuResources::create(int ordinal, const GpuOptions& options,
                            std::unique_ptr<GpuResources>* out) {
  const std::string where = "cuda:" + std::to_string(ordinal);
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return Status::invalid_argument(where + ": no usable CUDA device (" + cudaGetErrorString(e) +
                                    ")");
  }
  if (ordinal < 0 || ordinal >= count) {
    return Status::invalid_argument(where + ": no such device; this machine has " +
                                    std::to_string(count) + " CUDA device(s)");
  }
  std::unique_ptr<GpuResources> r(new GpuResources());
  r->ordinal_ = ordinal;
  r->options_ = options;
  // The worker's thread works on this device from here on (init_device makes
  // it current again): set it outright, so no other device is touched.
  e = cudaSetDevice(ordinal);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return Status::internal(where + ": cannot make current: " + cudaGetErrorString(e));
  }
  r->compute_ = cuda::Stream(ordinal);
  r->upload_ = cuda::Stream(ordinal);
  r->exchange_ = cuda::Stream(ordinal, cuda::StreamPriority::kHigh);
  std::string error;
  if (!r->cudnn_.create(ordinal, r->compute_.get(), &error) ||
      !r->cublas_.create(ordinal, r->compute_.get(), options.allow_tf32, &error) ||
      !r->cublas_lt_.create(ordinal, &error)) {
    return Status::internal(where + ": " + error);
  }
  *out = std::move(r);
  return Status::success();
}

Status GpuResources::make_current() const {
  const cudaError_t e = cudaSetDevice(ordinal_);
  if (e != cudaSuccess) {
    return Status::internal("cuda:" + std::to_string(ordinal_) +
                            ": cannot make current: " + cudaGetErrorString(e));
  }
  return Status::success();
}

Status GpuResources::synchronize(const std::string& what) const {
  cudaError_t e = cudaStreamSynchronize(compute_.get());
  if (e == cudaSuccess) e = cudaGetLastError();
  if (e != cudaSuccess) {
    return Status::internal("cuda:" + std::to_string(ordinal_) + " after " + what + ": " +
                            cudaGetErrorString(e));
  }
  return Status::success();
}

}  // namespace banyan

#endif  // BANYAN_WITH_CUDA
