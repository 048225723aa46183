// Buffer allocation: aligned host memory for the CPU; cudaMalloc on the
// buffer's device (zero-filled, waiting for the fill, since allocation
// happens at setup, never in the training step) when built with CUDA.
#include "engine/core/tensor.h"

#include <glog/logging.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/core/bf16.h"

#ifdef BANYAN_WITH_CUDA
#include <cuda_runtime_api.h>

#include "cuda/memory.h"
#endif

namespace banyan {

size_t d_type_size(DType t) { return t == DType::kFloat32 ? 4 : 2; }
const char* d_type_name(DType t) { return t == DType::kFloat32 ? "float32" : "bfloat16"; }

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& o) noexcept : data_(o.data_), bytes_(o.bytes_), device_(o.device_) {
  o.data_ = nullptr;
  o.bytes_ = 0;
}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    data_ = o.data_;
    bytes_ = o.bytes_;
    device_ = o.device_;
    o.data_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

void Buffer::release() {
  if (data_ != nullptr) {
    if (device_.is_cpu()) {
      std::free(data_);
    } else {
#ifdef BANYAN_WITH_CUDA
      cuda::DeviceGuard guard(device_.id);
      const cudaError_t e = cudaFree(data_);
      CHECK_EQ(e, cudaSuccess) << "cudaFree on " << device_.to_string() << ": "
                               << cudaGetErrorString(e);
#else
      LOG(FATAL) << "device buffer in a build without CUDA";
#endif
    }
  }
  data_ = nullptr;
  bytes_ = 0;
}

namespace {

// "123456789 bytes (117.7 MiB)".
std::string byte_count(size_t bytes) {
  char mib[32];
  std::snprintf(mib, sizeof(mib), " (%.1f MiB)", bytes / 1048576.0);
  return std::to_string(bytes) + " bytes" + mib;
}

#ifdef BANYAN_WITH_CUDA
// InvalidArgument naming the device unless this process can use it.
Status check_usable(Device device) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return Status::invalid_argument("cannot use " + device.to_string() + ": " +
                                    cudaGetErrorString(e));
  }
  if (device.id < 0 || device.id >= count) {
    return Status::invalid_argument("cannot use " + device.to_string() + ": this machine has " +
                                    std::to_string(count) + " CUDA device(s)");
  }
  return Status::success();
}

Status allocate_cuda(Device device, size_t bytes, void** out) {
  const std::string what = byte_count(bytes) + " on " + device.to_string();
  BANYAN_RETURN_IF_ERROR(check_usable(device));
  cuda::DeviceGuard guard(device.id);
  void* p = nullptr;
  cudaError_t e;
  e = cudaMalloc(&p, bytes == 0 ? 256 : bytes);
  // The zero fill must have landed before any stream touches the buffer: the
  // workers' streams are non-blocking, so they do not wait for the legacy
  // stream the memset runs on.
  if (e == cudaSuccess) e = cudaMemsetAsync(p, 0, bytes == 0 ? 256 : bytes, cudaStreamLegacy);
  if (e == cudaSuccess) e = cudaStreamSynchronize(cudaStreamLegacy);
  if (e != cudaSuccess) {
    if (p != nullptr) cudaFree(p);
    cudaGetLastError();  // reset the error so later checks do not report it again
    if (e == cudaErrorMemoryAllocation) {
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      return Status::resource_exhausted("cannot allocate " + what + " (" +
                                        std::to_string(free_bytes >> 20) + " MiB free of " +
                                        std::to_string(total_bytes >> 20) + " MiB)");
    }
    return Status::internal("cannot allocate " + what + ": " + cudaGetErrorString(e));
  }
  *out = p;
  return Status::success();
}
#endif

}  // namespace

Status Buffer::allocate(Device device, size_t bytes, Buffer* out) {
  if (!device.is_cpu()) {
#ifdef BANYAN_WITH_CUDA
    void* p = nullptr;
    BANYAN_RETURN_IF_ERROR(allocate_cuda(device, bytes, &p));
    Buffer b;
    b.data_ = p;
    b.bytes_ = bytes;
    b.device_ = device;
    *out = std::move(b);
    return Status::success();
#else
    return Status::unimplemented("allocation on " + device.to_string() +
                                 ": this build has no CUDA support");
#endif
  }
  constexpr size_t kAlign = 64;
  size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  if (rounded == 0) rounded = kAlign;
  void* p = std::aligned_alloc(kAlign, rounded);
  if (p == nullptr) {
    return Status::resource_exhausted("cannot allocate " + byte_count(bytes) + " on " +
                                      device.to_string());
  }
  std::memset(p, 0, rounded);
  Buffer b;
  b.data_ = p;
  b.bytes_ = bytes;
  b.device_ = device;
  *out = std::move(b);
  return Status::success();
}

namespace {

Status copy_bytes(const void* src, void* dst, size_t bytes, Device device, bool to_device) {
  if (bytes == 0) return Status::success();
  if (device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return Status::success();
  }
#ifdef BANYAN_WITH_CUDA
  BANYAN_RETURN_IF_ERROR(check_usable(device));
  cuda::DeviceGuard guard(device.id);
  // Work queued on the workers' non-blocking streams is not ordered with
  // cudaMemcpy's legacy stream: wait for the whole device before the copy,
  // and again after it, because a copy from pageable memory may return
  // before its DMA has landed (never in the step).
  cudaError_t e = cudaDeviceSynchronize();
  if (e == cudaSuccess) {
    e = cudaMemcpy(dst, src, bytes, to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost);
  }
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  if (e != cudaSuccess) {
    cudaGetLastError();
    return Status::internal(std::string("copy of ") + std::to_string(bytes) + " bytes " +
                            (to_device ? "to " : "from ") + device.to_string() + ": " +
                            cudaGetErrorString(e));
  }
  return Status::success();
#else
  (void)to_device;
  return Status::unimplemented("copy with " + device.to_string() +
                               ": this build has no CUDA support");
#endif
}

size_t float_bytes(int64_t n) { return n > 0 ? static_cast<size_t>(n) * sizeof(float) : 0; }

}  // namespace

Status copy_to_device(const float* host, int64_t n, Device device, float* dst) {
  return copy_bytes(host, dst, float_bytes(n), device, true);
}

Status copy_to_host(const float* src, int64_t n, Device device, float* host) {
  return copy_bytes(src, host, float_bytes(n), device, false);
}

Status copy_bytes_to_device(const void* host, size_t bytes, Device device, void* dst) {
  return copy_bytes(host, dst, bytes, device, true);
}

Status copy_bytes_to_host(const void* src, size_t bytes, Device device, void* host) {
  return copy_bytes(src, host, bytes, device, false);
}

float* Tensor::f32() const {
  CHECK(dtype_ == DType::kFloat32) << "tensor holds " << d_type_name(dtype_) << ", not float32";
  return static_cast<float*>(data_);
}

void Blob::set_shape(Shape s) {
  CHECK(!bound()) << "blob '" << name_ << "' reshaped after its storage was bound";
  for (int64_t d : s.dims()) CHECK_GE(d, 0) << "negative dimension for blob '" << name_ << "'";
  shape_ = std::move(s);
}

void Blob::set_dtype(DType t) {
  CHECK(!bound()) << "blob '" << name_ << "' retyped after its storage was bound";
  dtype_ = t;
}

float* Blob::f32(void* p) const {
  if (dtype_ != DType::kFloat32) {
    LOG(FATAL) << "blob '" << name_ << "' holds " << d_type_name(dtype_)
               << ", read as float32 (use raw_data()/raw_diff())";
  }
  return static_cast<float*>(p);
}

void Blob::bind(float* data, float* diff, Device device) {
  CHECK(dtype_ == DType::kFloat32)
      << "blob '" << name_ << "' is " << d_type_name(dtype_) << ": bind_raw";
  bind_raw(data, diff, device);
}

void Blob::bind_raw(void* data, void* diff, Device device) {
  CHECK(data != nullptr || count() == 0);
  data_ = data;
  diff_ = diff;
  device_ = device;
}

Status Blob::allocate(Device device) {
  const size_t bytes = this->bytes();
  BANYAN_RETURN_IF_ERROR(Buffer::allocate(device, 2 * bytes, &owned_));
  char* base = static_cast<char*>(owned_.data());
  bind_raw(base, base + bytes, device);
  return Status::success();
}

Status blob_from_host(const std::vector<float>& values, bool diff, Blob* blob) {
  CHECK_EQ(static_cast<int64_t>(values.size()), blob->count()) << "blob '" << blob->name() << "'";
  void* dst = diff ? blob->raw_diff() : blob->raw_data();
  if (blob->dtype() == DType::kFloat32) {
    return copy_to_device(values.data(), blob->count(), blob->device(), static_cast<float*>(dst));
  }
  std::vector<Bf16> bits(values.size());
  to_bf16(values.data(), blob->count(), bits.data());
  return copy_bytes_to_device(bits.data(), bits.size() * sizeof(Bf16), blob->device(), dst);
}

Status blob_to_host(const Blob& blob, bool diff, std::vector<float>* out) {
  out->resize(static_cast<size_t>(blob.count()));
  void* src = diff ? blob.raw_diff() : blob.raw_data();
  if (blob.dtype() == DType::kFloat32) {
    return copy_to_host(static_cast<const float*>(src), blob.count(), blob.device(), out->data());
  }
  std::vector<Bf16> bits(static_cast<size_t>(blob.count()));
  BANYAN_RETURN_IF_ERROR(
      copy_bytes_to_host(src, bits.size() * sizeof(Bf16), blob.device(), bits.data()));
  from_bf16(bits.data(), blob.count(), out->data());
  return Status::success();
}

}  // namespace banyan
