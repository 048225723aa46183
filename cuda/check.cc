// Message formatting for the check macros: one shape for every library so a
// log reader sees the statement, the device and the library's own words.
#include "cuda/check.h"

#include <glog/logging.h>

#include <cstdlib>
#include <sstream>

namespace banyan::cuda {
namespace detail {
namespace {

std::string format(const char* library, const char* text, int code, const CallSite& site) {
  std::ostringstream out;
  out << library << " error '" << (text != nullptr ? text : "unknown") << "' (code " << code
      << ") in `" << site.statement << "` on device " << current_device_or_minus_one() << ", in "
      << site.function << " at " << site.file << ":" << site.line;
  return out.str();
}

}  // namespace

std::string cuda_error_text(cudaError_t status, const CallSite& site) {
  std::string text = format("CUDA", cudaGetErrorString(status), static_cast<int>(status), site);
  cudaGetLastError();  // clear the slot; sticky errors stay in the context regardless
  return text;
}

std::string cudnn_error_text(cudnnStatus_t status, const CallSite& site) {
  return format("cuDNN", cudnnGetErrorString(status), static_cast<int>(status), site);
}

std::string cublas_error_text(cublasStatus_t status, const CallSite& site) {
  return format("cuBLAS", cublasGetStatusString(status), static_cast<int>(status), site);
}

std::string nccl_error_text(ncclResult_t status, const CallSite& site) {
  return format("NCCL", ncclGetErrorString(status), static_cast<int>(status), site);
}

void fail(const std::string& text, const char* file, int line) {
  google::LogMessageFatal(file, line).stream() << text;
  std::abort();  // not reached: the fatal message aborts in its destructor
}

}  // namespace detail

int current_device_or_minus_one() {
  int device = -1;
  if (cudaGetDevice(&device) != cudaSuccess) {
    cudaGetLastError();
    return -1;
  }
  return device;
}

}  // namespace banyan::cuda
