// HostBytes: heap or pinned allocation.
#include "pipeline/batch.h"

namespace banyan {

Status HostBytes::allocate(size_t bytes, bool pinned) {
  pinned_ = pinned;
  bytes_ = bytes;
  if (!pinned) {
    heap_.assign(bytes, 0);
    data_ = heap_.data();
    return Status::success();
  }
#ifdef BANYAN_WITH_CUDA
  std::string error;
  if (!pinned_buffer_.allocate(bytes, &error)) {
    data_ = nullptr;
    bytes_ = 0;
    return Status::resource_exhausted("pinned batch buffer: " + error);
  }
  data_ = pinned_buffer_.as<uint8_t>();
  return Status::success();
#else
  data_ = nullptr;
  bytes_ = 0;
  return Status::unimplemented("pinned batch buffers need a build with CUDA");
#endif
}

Status Batch::allocate(int n, size_t pixel_count, bool float_mode, bool pinned) {
  auto align = [](size_t v) { return (v + 63) / 64 * 64; };
  n_ = n;
  const size_t pixel_bytes = align(pixel_count * n * (float_mode ? sizeof(float) : 1));
  labels_at_ = pixel_bytes;
  h_off_at_ = align(labels_at_ + sizeof(float) * n);
  w_off_at_ = align(h_off_at_ + sizeof(int32_t) * n);
  mirror_at_ = align(w_off_at_ + sizeof(int32_t) * n);
  positions.assign(n, 0);
  values.resize(n);
  return host.allocate(mirror_at_ + n, pinned);
}

}  // namespace banyan
