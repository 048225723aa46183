// Library handle lifetimes.  Handles are created and destroyed with their
// device current, as cuDNN and cuBLAS require.
#include "cuda/handles.h"

#include <utility>

#include "cuda/check.h"

namespace banyan::cuda {
namespace {

bool report(const std::string& e, std::string* error) {
  if (e.empty()) return true;
  if (error != nullptr) *error = e;
  return false;
}

}  // namespace

// --- CudnnHandle --------------------------------------------------------------

CudnnHandle::CudnnHandle(CudnnHandle&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), device_(std::exchange(other.device_, -1)) {}

CudnnHandle& CudnnHandle::operator=(CudnnHandle&& other) noexcept {
  if (this != &other) {
    reset();
    handle_ = std::exchange(other.handle_, nullptr);
    device_ = std::exchange(other.device_, -1);
  }
  return *this;
}

bool CudnnHandle::create(int device, cudaStream_t stream, std::string* error) {
  reset();
  DeviceGuard guard(device);
  cudnnHandle_t h = nullptr;
  if (!report(BANYAN_CUDNN_ERROR(cudnnCreate(&h)), error)) return false;
  handle_ = h;
  device_ = device;
  set_stream(stream);
  return true;
}

void CudnnHandle::reset() {
  if (handle_ == nullptr) return;
  DeviceGuard guard(device_);
  BANYAN_CUDNN_CHECK(cudnnDestroy(handle_));
  handle_ = nullptr;
  device_ = -1;
}

void CudnnHandle::set_stream(cudaStream_t stream) {
  BANYAN_CUDNN_CHECK(cudnnSetStream(handle_, stream));
}

// --- CublasHandle -------------------------------------------------------------

CublasHandle::CublasHandle(CublasHandle&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      workspace_(std::move(other.workspace_)),
      allow_tf32_(std::exchange(other.allow_tf32_, false)),
      device_(std::exchange(other.device_, -1)) {}

CublasHandle& CublasHandle::operator=(CublasHandle&& other) noexcept {
  if (this != &other) {
    reset();
    handle_ = std::exchange(other.handle_, nullptr);
    workspace_ = std::move(other.workspace_);
    allow_tf32_ = std::exchange(other.allow_tf32_, false);
    device_ = std::exchange(other.device_, -1);
  }
  return *this;
}

bool CublasHandle::create(int device, cudaStream_t stream, bool allow_tf32, std::string* error,
                          size_t workspace_bytes) {
  reset();
  DeviceGuard guard(device);
  if (!workspace_.allocate(device, workspace_bytes, error)) return false;
  cublasHandle_t h = nullptr;
  if (!report(BANYAN_CUBLAS_ERROR(cublasCreate(&h)), error)) {
    workspace_.reset();
    return false;
  }
  handle_ = h;
  device_ = device;
  BANYAN_CUBLAS_CHECK(cublasSetPointerMode(handle_, CUBLAS_POINTER_MODE_HOST));
  set_stream(stream);
  set_allow_tf32(allow_tf32);
  return true;
}

void CublasHandle::reset() {
  if (handle_ != nullptr) {
    DeviceGuard guard(device_);
    BANYAN_CUBLAS_CHECK(cublasDestroy(handle_));
    handle_ = nullptr;
  }
  workspace_.reset();
  allow_tf32_ = false;
  device_ = -1;
}

void CublasHandle::set_stream(cudaStream_t stream) {
  BANYAN_CUBLAS_CHECK(cublasSetStream(handle_, stream));
  BANYAN_CUBLAS_CHECK(cublasSetWorkspace(handle_, workspace_.data(), workspace_.bytes()));
}

void CublasHandle::set_allow_tf32(bool allow) {
  BANYAN_CUBLAS_CHECK(
      cublasSetMathMode(handle_, allow ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  allow_tf32_ = allow;
}

// --- CublasLtHandle -----------------------------------------------------------

CublasLtHandle::CublasLtHandle(CublasLtHandle&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), device_(std::exchange(other.device_, -1)) {}

CublasLtHandle& CublasLtHandle::operator=(CublasLtHandle&& other) noexcept {
  if (this != &other) {
    reset();
    handle_ = std::exchange(other.handle_, nullptr);
    device_ = std::exchange(other.device_, -1);
  }
  return *this;
}

bool CublasLtHandle::create(int device, std::string* error) {
  reset();
  DeviceGuard guard(device);
  cublasLtHandle_t h = nullptr;
  if (!report(BANYAN_CUBLAS_ERROR(cublasLtCreate(&h)), error)) return false;
  handle_ = h;
  device_ = device;
  return true;
}

void CublasLtHandle::reset() {
  if (handle_ == nullptr) return;
  DeviceGuard guard(device_);
  BANYAN_CUBLAS_CHECK(cublasLtDestroy(handle_));
  handle_ = nullptr;
  device_ = -1;
}

}  // namespace banyan::cuda
