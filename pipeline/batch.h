// The batch buffers that circulate through the input pipeline: a fixed ring
// allocated once (pinned host memory when the consumer uploads to a GPU),
// handed from the free queue to the reader, the decoders and the consumer and
// back, so no batch allocates.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"

#ifdef BANYAN_WITH_CUDA
#include "cuda/memory.h"
#endif

namespace banyan {

// Host bytes for pixels: pinned (cudaHostAlloc) in CUDA builds when asked,
// else ordinary heap memory.  Move-only; not thread-safe.
class HostBytes {
 public:
  HostBytes() = default;
  HostBytes(const HostBytes&) = delete;
  HostBytes& operator=(const HostBytes&) = delete;

  // Allocates `bytes` (contents undefined).  Error when pinned memory is
  // requested in a build without CUDA or cannot be allocated.
  Status allocate(size_t bytes, bool pinned);
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  bool pinned() const { return pinned_; }

 private:
  std::vector<uint8_t> heap_;
#ifdef BANYAN_WITH_CUDA
  cuda::PinnedBuffer pinned_buffer_;
#endif
  uint8_t* data_ = nullptr;
  size_t bytes_ = 0;
  bool pinned_ = false;
};

// One batch in flight.  Owned by the pipeline's ring; the stage holding it
// has exclusive access, except the decode threads, which write disjoint
// sample ranges of one batch concurrently.
//
// `host` holds, in this order and as the GPU upload copies it in one piece:
//   pixels  (N, C, crop, crop) uint8, cropped and mirrored (uint8 datasets),
//           or (N, C, crop, crop) float, the final values (float_data
//           datasets), at offset 0 either way
//   labels  (N) float
//   h_off   (N) int32, w_off (N) int32: crop offsets into the source image
//   mirror  (N) uint8 0/1
struct Batch {
  // Lays out `host` for `n` samples of `pixel_count` uint8 each (float each
  // in float_mode).
  Status allocate(int n, size_t pixel_count, bool float_mode, bool pinned);

  int size() const { return n_; }
  uint8_t* pixels() { return host.data(); }
  float* floats() { return reinterpret_cast<float*>(host.data()); }  // float_mode
  float* labels() { return reinterpret_cast<float*>(host.data() + labels_at_); }
  int32_t* h_off() { return reinterpret_cast<int32_t*>(host.data() + h_off_at_); }
  int32_t* w_off() { return reinterpret_cast<int32_t*>(host.data() + w_off_at_); }
  uint8_t* mirror() { return host.data() + mirror_at_; }
  size_t pixel_bytes() const { return labels_at_; }
  size_t labels_offset() const { return labels_at_; }
  size_t h_off_offset() const { return h_off_at_; }
  size_t w_off_offset() const { return w_off_at_; }
  size_t mirror_offset() const { return mirror_at_; }

  int64_t iteration = -1;
  // Global sample index of sample 0 (rand_skip included).
  int64_t first_sample = 0;
  HostBytes host;
  // Reader -> decoders: per sample, the record position and its bytes.
  std::vector<size_t> positions;
  std::vector<std::string> values;

  // Decode ranges not yet finished; the batch is ready at 0.
  std::atomic<int> pending_ranges{0};
  // Error of the batch (LMDB failure, or in fatal mode the bad record of
  // the lowest sample index, whichever thread met it first).
  Status error;
  int error_sample = -1;
  // Records replaced in this batch.
  std::atomic<int> replaced{0};

 private:
  int n_ = 0;
  size_t labels_at_ = 0, h_off_at_ = 0, w_off_at_ = 0, mirror_at_ = 0;
};

}  // namespace banyan
