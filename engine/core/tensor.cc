// Host allocation for Buffer; CUDA allocation arrives with the cuda/ layer.
#include "engine/core/tensor.h"

#include <glog/logging.h>

#include <cstdlib>
#include <cstring>

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
    CHECK(device_.is_cpu());
    std::free(data_);
  }
  data_ = nullptr;
  bytes_ = 0;
}

Status Buffer::allocate(Device device, size_t bytes, Buffer* out) {
  if (!device.is_cpu()) {
    return Status::unimplemented("allocation on " + device.to_string() +
                                 ": this build has no CUDA support");
  }
  constexpr size_t kAlign = 64;
  size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  if (rounded == 0) rounded = kAlign;
  void* p = std::aligned_alloc(kAlign, rounded);
  if (p == nullptr) {
    return Status::resource_exhausted("cannot allocate " + std::to_string(bytes) + " bytes on " +
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

float* Tensor::f32() const {
  CHECK(dtype_ == DType::kFloat32) << "tensor holds " << d_type_name(dtype_) << ", not float32";
  return static_cast<float*>(data_);
}

void Blob::set_shape(Shape s) {
  CHECK(!bound()) << "blob '" << name_ << "' reshaped after its storage was bound";
  for (int64_t d : s.dims()) CHECK_GE(d, 0) << "negative dimension for blob '" << name_ << "'";
  shape_ = std::move(s);
}

void Blob::bind(float* data, float* diff, Device device) {
  CHECK(data != nullptr || count() == 0);
  data_ = data;
  diff_ = diff;
  device_ = device;
}

Status Blob::allocate(Device device) {
  size_t n = static_cast<size_t>(count());
  BANYAN_RETURN_IF_ERROR(Buffer::allocate(device, 2 * n * sizeof(float), &owned_));
  float* base = static_cast<float*>(owned_.data());
  bind(base, base + n, device);
  return Status::success();
}

}  // namespace banyan
