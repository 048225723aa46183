// What a worker on a CUDA device owns besides memory: its streams (compute,
// input upload, gradient exchange) and its cuDNN / cuBLAS handles, all bound
// to the compute stream.  Only in builds with CUDA; WorkerContext holds one
// for CUDA workers.  Not thread-safe: one worker, one thread.
#pragma once

#ifdef BANYAN_WITH_CUDA

#include <memory>
#include <string>

#include "cuda/handles.h"
#include "cuda/stream.h"
#include "engine/core/context.h"
#include "engine/core/status.h"

namespace banyan {

class GpuResources {
 public:
  // Creates the streams and handles on CUDA device `ordinal`.  Errors (no
  // such device, library failures) name the device.
  static Status create(int ordinal, const GpuOptions& options, std::unique_ptr<GpuResources>* out);

  int ordinal() const { return ordinal_; }
  const GpuOptions& options() const { return options_; }
  // Forward, backward and solver updates run here, in order.
  cudaStream_t compute() const { return compute_.get(); }
  // Host-to-device input uploads, ordered against compute with events.
  cudaStream_t upload() const { return upload_.get(); }
  // Gradient exchange, high priority so it overtakes compute.
  cudaStream_t exchange() const { return exchange_.get(); }
  cudnnHandle_t cudnn() const { return cudnn_.get(); }
  cublasHandle_t cublas() const { return cublas_.get(); }
  // The wrapper, for cuda::gemm and friends.
  const cuda::CublasHandle& cublas_handle() const { return cublas_; }
  const cuda::CudnnHandle& cudnn_handle() const { return cudnn_; }
  cublasLtHandle_t cublas_lt() const { return cublas_lt_.get(); }

  // Makes this device the calling thread's current device.
  Status make_current() const;

  // Blocks until the compute stream is idle and checks for asynchronous
  // errors; `what` names the step in the message (debug_sync, setup, tests).
  Status synchronize(const std::string& what) const;

 private:
  GpuResources() = default;
  int ordinal_ = -1;
  GpuOptions options_;
  cuda::Stream compute_, upload_, exchange_;
  cuda::CudnnHandle cudnn_;
  cuda::CublasHandle cublas_;
  cuda::CublasLtHandle cublas_lt_;
};

}  // namespace banyan

#endif  // BANYAN_WITH_CUDA
