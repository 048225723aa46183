// Device and pinned host memory as RAII, move-only owners, the scoped device
// switch (DeviceGuard) and explicit, stream-ordered copies.  Allocation
// reports failure as text (out of memory is a user's error); everything else
// aborts through the check macros.  None of these is thread-safe.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace banyan::cuda {

// Makes `device` current on this host thread for the scope and restores the
// previous device on exit, or no current device at all when the thread had
// none (so a thread that never chose a device does not end up with a
// context on GPU 0).  Neither copyable nor movable.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;
  DeviceGuard(DeviceGuard&&) = delete;
  DeviceGuard& operator=(DeviceGuard&&) = delete;

 private:
  int previous_ = -1;
  bool switched_ = false;
  bool no_context_ = false;
};

// cudaMalloc'd memory on one device (256-byte aligned by the runtime).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;

  // Frees what it held, then allocates `bytes` on `device` (contents
  // undefined).  Returns false with `*error` set (e.g. out of memory, naming
  // the size and device) and leaves the buffer empty on failure.  0 bytes
  // gives an empty buffer and true.
  bool allocate(int device, size_t bytes, std::string* error);
  // Frees the memory (synchronising as cudaFree does); the buffer is empty after.
  void reset();

  // Zeroes every byte, ordered on `stream` (which must belong to device()).
  void zero_async(cudaStream_t stream);

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <typename T>
  T* as() {
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* as() const {
    return static_cast<const T*>(data_);
  }
  size_t bytes() const { return bytes_; }
  int device() const { return device_; }
  bool empty() const { return data_ == nullptr; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  int device_ = -1;
};

// Page-locked host memory (cudaHostAlloc, portable: pinned for every device),
// the source and target of asynchronous host/device copies.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer() { reset(); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  PinnedBuffer(PinnedBuffer&& other) noexcept;
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept;

  // As DeviceBuffer::allocate; contents undefined.
  bool allocate(size_t bytes, std::string* error);
  void reset();

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <typename T>
  T* as() {
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* as() const {
    return static_cast<const T*>(data_);
  }
  size_t bytes() const { return bytes_; }
  bool empty() const { return data_ == nullptr; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// Copies `bytes` between any two of host, pinned host and device memory
// (unified addressing decides the direction), ordered on `stream`.  From
// pageable host memory the call returns only after the source was read.
void copy_async(void* dst, const void* src, size_t bytes, cudaStream_t stream);

// Waits for all work on each of `devices` (repeats allowed), ignoring and
// clearing errors: for shutdown, before buffers that other devices may
// still be reading are freed.  Leaves the current device as it was.
void synchronize_devices_quietly(const std::vector<int>& devices);

// Device-to-device copy across devices (or within one), ordered on `stream`;
// goes over NVLink/PCIe peer access when enabled, else through the host.
void copy_peer_async(void* dst, int dst_device, const void* src, int src_device, size_t bytes,
                     cudaStream_t stream);

// The ordered pairs (a, b), a != b, of the distinct ids in `devices`, in
// first-appearance order: the peer-access directions a device list needs
// (a repeated id adds nothing; a device never pairs with itself).
std::vector<std::pair<int, int>> distinct_device_pairs(const std::vector<int>& devices);

// What enable_peer_access did, per direction (a reads / writes b's memory).
struct PeerAccessReport {
  std::vector<std::pair<int, int>> enabled;      // enabled now or before
  std::vector<std::pair<int, int>> unavailable;  // cudaDeviceCanAccessPeer says no
};

// Enables peer access for every pair of distinct_device_pairs(devices) that
// the hardware allows, so peer copies go over NVLink / PCIe directly instead
// of through host memory.  cudaErrorPeerAccessAlreadyEnabled counts as
// success, so calling it again (another net, another test) is harmless; peer
// access is a property of the device contexts, i.e. of the process.  Restores
// the current device.  False with `*error` on any other CUDA error.  Setup only.
bool enable_peer_access(const std::vector<int>& devices, PeerAccessReport* report,
                        std::string* error);

}  // namespace banyan::cuda
