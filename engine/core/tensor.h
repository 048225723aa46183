// Buffer (owning device memory), Tensor (non-owning typed view) and Blob (a
// named activation or parameter: data plus gradient, Caffe's "diff").
// Memory is planned at setup: the Net binds blobs into arenas it owns; tests
// and layer-internal scratch may own storage through Blob::Allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/shape.h"
#include "engine/core/status.h"

namespace banyan {

enum class DType { kFloat32, kBFloat16 };
size_t d_type_size(DType t);
const char* d_type_name(DType t);

// Owning, move-only block of device memory, 64-byte aligned, zero-filled at
// allocation (the fill has completed when allocate returns, so work on any
// stream sees zeros).
class Buffer {
 public:
  Buffer() = default;
  ~Buffer();
  Buffer(Buffer&& o) noexcept;
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // Fails with ResourceExhausted (naming the size and device) when memory is short.
  static Status allocate(Device device, size_t bytes, Buffer* out);

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void release();
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
};

// Truly synchronous float copies between host memory and memory on `device`
// (a plain memcpy when `device` is the CPU): they first wait for all work on
// the device (every stream), so results of kernels on any stream are seen,
// and return only when the copy has completed, so work launched afterwards
// on any stream, non-blocking ones included, sees the new values.  For
// setup, snapshots, test passes and tests, never inside the training step.
// Errors name the device.
Status copy_to_device(const float* host, int64_t n, Device device, float* dst);
Status copy_to_host(const float* src, int64_t n, Device device, float* host);

// Non-owning view of `shape.count()` elements of `dtype` at `data` on `device`.
class Tensor {
 public:
  Tensor() = default;
  Tensor(void* data, Shape shape, Device device, DType dtype = DType::kFloat32)
      : data_(data), shape_(std::move(shape)), device_(device), dtype_(dtype) {}

  void* raw() const { return data_; }
  float* f32() const;  // CHECKs dtype == kFloat32
  const Shape& shape() const { return shape_; }
  int64_t count() const { return shape_.count(); }
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }
  size_t bytes() const { return static_cast<size_t>(count()) * d_type_size(dtype_); }

 private:
  void* data_ = nullptr;
  Shape shape_;
  Device device_;
  DType dtype_ = DType::kFloat32;
};

// A named float32 array with a gradient of the same shape.  The shape is set
// during setup; storage is bound once afterwards (by the Net, or by Allocate).
class Blob {
 public:
  explicit Blob(std::string name = "") : name_(std::move(name)) {}
  Blob(const Blob&) = delete;
  Blob& operator=(const Blob&) = delete;
  Blob(Blob&&) = default;
  Blob& operator=(Blob&&) = default;

  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  const Shape& shape() const { return shape_; }
  // Only before storage is bound (CHECKed).
  void set_shape(Shape s);
  int64_t count() const { return shape_.count(); }
  int num_axes() const { return shape_.num_axes(); }
  int64_t dim(int axis) const { return shape_.dim(axis); }

  bool bound() const { return data_ != nullptr; }
  Device device() const { return device_; }
  // Points the blob at external storage of at least count() floats each.
  // `diff` may be null for blobs that never carry gradients.
  void bind(float* data, float* diff, Device device);
  // Allocates owned storage for data and diff on `device`.
  Status allocate(Device device);

  float* data() const { return data_; }
  float* diff() const { return diff_; }
  Tensor data_tensor() const { return Tensor(data_, shape_, device_); }
  Tensor diff_tensor() const { return Tensor(diff_, shape_, device_); }

 private:
  std::string name_;
  Shape shape_;
  Device device_;
  float* data_ = nullptr;
  float* diff_ = nullptr;
  Buffer owned_;  // set only by Allocate
};

// The values of `blob` (its data, or its diff) in host memory.
Status blob_to_host(const Blob& blob, bool diff, std::vector<float>* out);

}  // namespace banyan
