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
// The same for raw bytes (bfloat16 arrays).
Status copy_bytes_to_device(const void* host, size_t bytes, Device device, void* dst);
Status copy_bytes_to_host(const void* src, size_t bytes, Device device, void* host);

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

// A named array with a gradient of the same shape and element type: float32
// (parameters, losses, labels, and every activation in FP32 nets) or
// bfloat16 (activations and their gradients under BF16 precision).  The
// shape and type are set during setup; storage is bound once afterwards (by
// the Net, or by Allocate).
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

  DType dtype() const { return dtype_; }
  // Only before storage is bound (CHECKed).
  void set_dtype(DType t);
  // Bytes of data (and of diff): count() x the element size.
  size_t bytes() const { return static_cast<size_t>(count()) * d_type_size(dtype_); }

  bool bound() const { return data_ != nullptr; }
  Device device() const { return device_; }
  // Points a float32 blob at external storage of at least count() floats
  // each.  `diff` may be null for blobs that never carry gradients.
  void bind(float* data, float* diff, Device device);
  // The same for any element type (bytes() each).
  void bind_raw(void* data, void* diff, Device device);
  // Allocates owned storage for data and diff on `device`.
  Status allocate(Device device);

  // float32 blobs only (CHECKed): layers see float32 blobs, the CPU's BF16
  // path hands them float32 shadows (layers/layer.h).
  float* data() const { return f32(data_); }
  float* diff() const { return f32(diff_); }
  // Any element type.
  void* raw_data() const { return data_; }
  void* raw_diff() const { return diff_; }
  Tensor data_tensor() const { return Tensor(data_, shape_, device_, dtype_); }
  Tensor diff_tensor() const { return Tensor(diff_, shape_, device_, dtype_); }

 private:
  float* f32(void* p) const;

  std::string name_;
  Shape shape_;
  Device device_;
  DType dtype_ = DType::kFloat32;
  void* data_ = nullptr;
  void* diff_ = nullptr;
  Buffer owned_;  // set only by Allocate
};

// Sets `blob`'s data (or diff) from host floats, count() of them (rounded
// to nearest even for bfloat16 blobs); synchronous, for setup and tests.
Status blob_from_host(const std::vector<float>& values, bool diff, Blob* blob);

// The values of `blob` (its data, or its diff) in host memory, as floats
// (bfloat16 blobs are widened exactly).
Status blob_to_host(const Blob& blob, bool diff, std::vector<float>* out);

}  // namespace banyan
