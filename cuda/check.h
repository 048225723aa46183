// Error checking for every CUDA, cuDNN, cuBLAS and NCCL call.  The *_CHECK
// macros are for broken invariants: they LOG(FATAL) with the statement, the
// current device, the function, file:line and the library's error string.
// The *_ERROR macros are for errors a user can cause (out of memory, a missing
// library, a bad device list): they return that same text as a std::string,
// empty on success, for the engine to turn into a Status.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <nccl.h>

#include <string>

namespace banyan::cuda {
namespace detail {

// Where a failing statement sits, for the message.
struct CallSite {
  const char* statement;
  const char* function;
  const char* file;
  int line;
};

// "<library> error '<text>' (code N) in `<statement>` on device D, in <function> at
// <file>:<line>".  The cuda variant also clears the runtime's last-error slot
// so that a reported, non-sticky error (out of memory) does not resurface at
// the next BANYAN_CUDA_CHECK_LAUNCH.
std::string cuda_error_text(cudaError_t status, const CallSite& site);
std::string cudnn_error_text(cudnnStatus_t status, const CallSite& site);
std::string cublas_error_text(cublasStatus_t status, const CallSite& site);
std::string nccl_error_text(ncclResult_t status, const CallSite& site);

[[noreturn]] void fail(const std::string& text, const char* file, int line);

// The text above when `status` is an error, else "".
inline std::string cuda_status(cudaError_t status, const CallSite& site) {
  return status == cudaSuccess ? std::string() : cuda_error_text(status, site);
}
inline std::string cudnn_status(cudnnStatus_t status, const CallSite& site) {
  return status == CUDNN_STATUS_SUCCESS ? std::string() : cudnn_error_text(status, site);
}
inline std::string cublas_status(cublasStatus_t status, const CallSite& site) {
  return status == CUBLAS_STATUS_SUCCESS ? std::string() : cublas_error_text(status, site);
}
inline std::string nccl_status(ncclResult_t status, const CallSite& site) {
  return status == ncclSuccess ? std::string() : nccl_error_text(status, site);
}
// Non-blocking communicators: ncclInProgress means "started", not failed.
inline std::string nccl_started_status(ncclResult_t status, const CallSite& site) {
  return status == ncclSuccess || status == ncclInProgress ? std::string()
                                                           : nccl_error_text(status, site);
}

}  // namespace detail

// The device current on this host thread, or -1 when none can be queried.
int current_device_or_minus_one();

}  // namespace banyan::cuda

// `text` is the statement stringized by the outer macro, before expansion
// (so cublasCreate(&h) reads as written, not as cublasCreate_v2(&h)).
#define BANYAN_CUDA_CALL_SITE_(text) \
  ::banyan::cuda::detail::CallSite { text, __func__, __FILE__, __LINE__ }

// Aborting checks (broken invariants).
#define BANYAN_CUDA_CHECK(stmt)                                                                   \
  do {                                                                                            \
    const cudaError_t banyan_status_ = (stmt);                                                    \
    if (banyan_status_ != cudaSuccess) {                                                          \
      ::banyan::cuda::detail::fail(                                                               \
          ::banyan::cuda::detail::cuda_error_text(banyan_status_, BANYAN_CUDA_CALL_SITE_(#stmt)), \
          __FILE__, __LINE__);                                                                    \
    }                                                                                             \
  } while (0)

#define BANYAN_CUDNN_CHECK(stmt)                                                                   \
  do {                                                                                             \
    const cudnnStatus_t banyan_status_ = (stmt);                                                   \
    if (banyan_status_ != CUDNN_STATUS_SUCCESS) {                                                  \
      ::banyan::cuda::detail::fail(                                                                \
          ::banyan::cuda::detail::cudnn_error_text(banyan_status_, BANYAN_CUDA_CALL_SITE_(#stmt)), \
          __FILE__, __LINE__);                                                                     \
    }                                                                                              \
  } while (0)

#define BANYAN_CUBLAS_CHECK(stmt)                                                      \
  do {                                                                                 \
    const cublasStatus_t banyan_status_ = (stmt);                                      \
    if (banyan_status_ != CUBLAS_STATUS_SUCCESS) {                                     \
      ::banyan::cuda::detail::fail(::banyan::cuda::detail::cublas_error_text(          \
                                       banyan_status_, BANYAN_CUDA_CALL_SITE_(#stmt)), \
                                   __FILE__, __LINE__);                                \
    }                                                                                  \
  } while (0)

#define BANYAN_NCCL_CHECK(stmt)                                                                   \
  do {                                                                                            \
    const ncclResult_t banyan_status_ = (stmt);                                                   \
    if (banyan_status_ != ncclSuccess) {                                                          \
      ::banyan::cuda::detail::fail(                                                               \
          ::banyan::cuda::detail::nccl_error_text(banyan_status_, BANYAN_CUDA_CALL_SITE_(#stmt)), \
          __FILE__, __LINE__);                                                                    \
    }                                                                                             \
  } while (0)

// After every kernel launch: reports a bad launch configuration at once.
// (Faults inside the kernel surface at the next synchronising call.)
#define BANYAN_CUDA_CHECK_LAUNCH() BANYAN_CUDA_CHECK(cudaGetLastError())

// Non-aborting forms: evaluate to a std::string, empty on success.
#define BANYAN_CUDA_ERROR(stmt) \
  ::banyan::cuda::detail::cuda_status((stmt), BANYAN_CUDA_CALL_SITE_(#stmt))
#define BANYAN_CUDNN_ERROR(stmt) \
  ::banyan::cuda::detail::cudnn_status((stmt), BANYAN_CUDA_CALL_SITE_(#stmt))
#define BANYAN_CUBLAS_ERROR(stmt) \
  ::banyan::cuda::detail::cublas_status((stmt), BANYAN_CUDA_CALL_SITE_(#stmt))
#define BANYAN_NCCL_ERROR(stmt) \
  ::banyan::cuda::detail::nccl_status((stmt), BANYAN_CUDA_CALL_SITE_(#stmt))
// As BANYAN_NCCL_ERROR, but ncclInProgress (a non-blocking communicator's
// call still being carried out) is not an error.
#define BANYAN_NCCL_STARTED(stmt) \
  ::banyan::cuda::detail::nccl_started_status((stmt), BANYAN_CUDA_CALL_SITE_(#stmt))
