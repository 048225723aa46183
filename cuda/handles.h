// cuDNN, cuBLAS and cuBLASLt handles as RAII, move-only owners, each bound to
// one device and one stream.  Creation returns text on failure (a missing or
// mismatched library is the user's environment); later misuse aborts.
// cuBLAS gets a workspace of its own at creation so no call in the training
// step allocates.  A handle belongs to one worker thread.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>
#include <string>

#include "cuda/memory.h"

namespace banyan::cuda {

class CudnnHandle {
 public:
  CudnnHandle() = default;
  ~CudnnHandle() { reset(); }
  CudnnHandle(const CudnnHandle&) = delete;
  CudnnHandle& operator=(const CudnnHandle&) = delete;
  CudnnHandle(CudnnHandle&& other) noexcept;
  CudnnHandle& operator=(CudnnHandle&& other) noexcept;

  // Creates the handle on `device` and binds it to `stream`.
  bool create(int device, cudaStream_t stream, std::string* error);
  void reset();
  void set_stream(cudaStream_t stream);

  cudnnHandle_t get() const { return handle_; }
  int device() const { return device_; }
  bool empty() const { return handle_ == nullptr; }

 private:
  cudnnHandle_t handle_ = nullptr;
  int device_ = -1;
};

// The default cuBLAS workspace: NVIDIA recommends 32 MiB on Hopper, 4 MiB on
// earlier GPUs (cuBLAS guide, cublasSetWorkspace); 32 MiB suits both.
inline constexpr size_t kCublasWorkspaceBytes = size_t{32} << 20;

class CublasHandle {
 public:
  CublasHandle() = default;
  ~CublasHandle() { reset(); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  CublasHandle(CublasHandle&& other) noexcept;
  CublasHandle& operator=(CublasHandle&& other) noexcept;

  // Creates the handle on `device`, allocates its workspace, binds both to
  // `stream` (host pointer mode).  `allow_tf32` lets FP32 GEMMs run on TF32
  // tensor cores (CUBLAS_TF32_TENSOR_OP_MATH); false keeps full FP32.
  bool create(int device, cudaStream_t stream, bool allow_tf32, std::string* error,
              size_t workspace_bytes = kCublasWorkspaceBytes);
  void reset();
  // Rebinds to `stream` and re-attaches the workspace (cublasSetStream resets
  // the workspace to cuBLAS's own pool, so both are always set together).
  void set_stream(cudaStream_t stream);
  void set_allow_tf32(bool allow);

  cublasHandle_t get() const { return handle_; }
  bool allow_tf32() const { return allow_tf32_; }
  int device() const { return device_; }
  bool empty() const { return handle_ == nullptr; }

 private:
  cublasHandle_t handle_ = nullptr;
  DeviceBuffer workspace_;
  bool allow_tf32_ = false;
  int device_ = -1;
};

// cuBLASLt takes its stream and workspace per call (cublasLtMatmul), so the
// handle only remembers its device.
class CublasLtHandle {
 public:
  CublasLtHandle() = default;
  ~CublasLtHandle() { reset(); }
  CublasLtHandle(const CublasLtHandle&) = delete;
  CublasLtHandle& operator=(const CublasLtHandle&) = delete;
  CublasLtHandle(CublasLtHandle&& other) noexcept;
  CublasLtHandle& operator=(CublasLtHandle&& other) noexcept;

  bool create(int device, std::string* error);
  void reset();

  cublasLtHandle_t get() const { return handle_; }
  int device() const { return device_; }
  bool empty() const { return handle_ == nullptr; }

 private:
  cublasLtHandle_t handle_ = nullptr;
  int device_ = -1;
};

}  // namespace banyan::cuda
