// Device/pinned allocation and copies.  Frees run with the owning device
// current, so a worker thread may drop buffers of any device.
#include "cuda/memory.h"

#include <cuda.h>
#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "cuda/check.h"

namespace banyan::cuda {

namespace {

// The driver's cuCtxGetCurrent / cuCtxSetCurrent, reached through the
// runtime (so nothing links libcuda directly).  Resolved once per process;
// null when the driver does not offer them.
struct ContextCalls {
  CUresult (*get)(CUcontext*) = nullptr;
  CUresult (*set)(CUcontext) = nullptr;
};

const ContextCalls& context_calls() {
  static const ContextCalls calls = [] {
    ContextCalls c;
    void* get = nullptr;
    void* set = nullptr;
    cudaDriverEntryPointQueryResult found_get = cudaDriverEntryPointSymbolNotFound;
    cudaDriverEntryPointQueryResult found_set = cudaDriverEntryPointSymbolNotFound;
    if (cudaGetDriverEntryPointByVersion("cuCtxGetCurrent", &get, 12000, cudaEnableDefault,
                                         &found_get) == cudaSuccess &&
        cudaGetDriverEntryPointByVersion("cuCtxSetCurrent", &set, 12000, cudaEnableDefault,
                                         &found_set) == cudaSuccess &&
        found_get == cudaDriverEntryPointSuccess && found_set == cudaDriverEntryPointSuccess) {
      c.get = reinterpret_cast<CUresult (*)(CUcontext*)>(get);
      c.set = reinterpret_cast<CUresult (*)(CUcontext)>(set);
    }
    cudaGetLastError();
    return c;
  }();
  return calls;
}

}  // namespace

DeviceGuard::DeviceGuard(int device) {
  const ContextCalls& calls = context_calls();
  CUcontext current = nullptr;
  if (calls.get != nullptr && calls.get(&current) == CUDA_SUCCESS && current == nullptr) {
    no_context_ = true;  // cudaGetDevice would say 0 without 0 being in use
  }
  BANYAN_CUDA_CHECK(cudaGetDevice(&previous_));
  if (no_context_ || previous_ != device) {
    BANYAN_CUDA_CHECK(cudaSetDevice(device));
    switched_ = true;
  }
}

DeviceGuard::~DeviceGuard() {
  if (!switched_) return;
  if (no_context_) {
    // Back to no current context: restoring "device 0" would create a
    // context on GPU 0 for a thread that never used it.
    const CUresult r = context_calls().set(nullptr);
    CHECK_EQ(r, CUDA_SUCCESS) << "cuCtxSetCurrent(nullptr) failed with driver error " << r;
    return;
  }
  BANYAN_CUDA_CHECK(cudaSetDevice(previous_));
}

// --- DeviceBuffer -------------------------------------------------------------

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      device_(std::exchange(other.device_, -1)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    device_ = std::exchange(other.device_, -1);
  }
  return *this;
}

bool DeviceBuffer::allocate(int device, size_t bytes, std::string* error) {
  reset();
  if (bytes == 0) return true;
  DeviceGuard guard(device);
  void* p = nullptr;
  std::string e = BANYAN_CUDA_ERROR(cudaMalloc(&p, bytes));
  if (!e.empty()) {
    if (error != nullptr) {
      *error = "cannot allocate " + std::to_string(bytes) +
               " bytes on cuda:" + std::to_string(device) + ": " + e;
    }
    return false;
  }
  data_ = p;
  bytes_ = bytes;
  device_ = device;
  return true;
}

void DeviceBuffer::reset() {
  if (data_ == nullptr) return;
  DeviceGuard guard(device_);
  BANYAN_CUDA_CHECK(cudaFree(data_));
  data_ = nullptr;
  bytes_ = 0;
  device_ = -1;
}

void DeviceBuffer::zero_async(cudaStream_t stream) {
  if (data_ == nullptr) return;
  BANYAN_CUDA_CHECK(cudaMemsetAsync(data_, 0, bytes_, stream));
}

// --- PinnedBuffer -------------------------------------------------------------

PinnedBuffer::PinnedBuffer(PinnedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

bool PinnedBuffer::allocate(size_t bytes, std::string* error) {
  reset();
  if (bytes == 0) return true;
  void* p = nullptr;
  std::string e = BANYAN_CUDA_ERROR(cudaHostAlloc(&p, bytes, cudaHostAllocPortable));
  if (!e.empty()) {
    if (error != nullptr) {
      *error = "cannot allocate " + std::to_string(bytes) + " bytes of pinned host memory: " + e;
    }
    return false;
  }
  data_ = p;
  bytes_ = bytes;
  return true;
}

void PinnedBuffer::reset() {
  if (data_ == nullptr) return;
  BANYAN_CUDA_CHECK(cudaFreeHost(data_));
  data_ = nullptr;
  bytes_ = 0;
}

// --- copies -------------------------------------------------------------------

void copy_async(void* dst, const void* src, size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return;
  BANYAN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream));
}

void copy_peer_async(void* dst, int dst_device, const void* src, int src_device, size_t bytes,
                     cudaStream_t stream) {
  if (bytes == 0) return;
  BANYAN_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_device, src, src_device, bytes, stream));
}

void synchronize_devices_quietly(const std::vector<int>& devices) {
  std::vector<int> done;
  for (int d : devices) {
    if (std::find(done.begin(), done.end(), d) != done.end()) continue;
    done.push_back(d);
    DeviceGuard guard(d);
    cudaDeviceSynchronize();
    cudaGetLastError();
  }
}

// --- peer access --------------------------------------------------------------

std::vector<std::pair<int, int>> distinct_device_pairs(const std::vector<int>& devices) {
  std::vector<int> distinct;
  for (int d : devices) {
    if (std::find(distinct.begin(), distinct.end(), d) == distinct.end()) distinct.push_back(d);
  }
  std::vector<std::pair<int, int>> pairs;
  for (int a : distinct) {
    for (int b : distinct) {
      if (a != b) pairs.emplace_back(a, b);
    }
  }
  return pairs;
}

bool enable_peer_access(const std::vector<int>& devices, PeerAccessReport* report,
                        std::string* error) {
  PeerAccessReport r;
  for (const auto& [a, b] : distinct_device_pairs(devices)) {
    int can = 0;
    std::string e = BANYAN_CUDA_ERROR(cudaDeviceCanAccessPeer(&can, a, b));
    if (e.empty() && can) {
      DeviceGuard guard(a);
      const cudaError_t enabled = cudaDeviceEnablePeerAccess(b, 0);
      if (enabled == cudaErrorPeerAccessAlreadyEnabled) {
        cudaGetLastError();  // not an error here; clear it so later checks do not see it
      } else if (enabled != cudaSuccess) {
        cudaGetLastError();
        e = std::string("cudaDeviceEnablePeerAccess(") + std::to_string(b) + ") on device " +
            std::to_string(a) + ": " + cudaGetErrorName(enabled) + " (" +
            cudaGetErrorString(enabled) + ")";
      }
    }
    if (!e.empty()) {
      if (error != nullptr) *error = e;
      return false;
    }
    (can ? r.enabled : r.unavailable).emplace_back(a, b);
  }
  if (report != nullptr) *report = std::move(r);
  return true;
}

}  // namespace banyan::cuda
