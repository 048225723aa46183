// Streams and events as RAII, move-only owners.  Streams are always created
// non-blocking (never synchronised with the legacy default stream, which
// Banyan does not use); work across streams is ordered with events.
// Not thread-safe; each belongs to one worker.
#pragma once

#include <cuda_runtime_api.h>

namespace banyan::cuda {

enum class StreamPriority { kNormal, kHigh };

class Stream {
 public:
  Stream() = default;
  // A non-blocking stream on `device`; kHigh takes the device's greatest
  // priority (e.g. for gradient exchange so it overtakes compute).
  explicit Stream(int device, StreamPriority priority = StreamPriority::kNormal);
  ~Stream() { reset(); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;

  void reset();
  // Blocks the host until all work queued so far has finished.  Not for the
  // training step (setup, tests, shutdown).
  void synchronize() const;
  // True when all queued work has finished (never blocks).
  bool query() const;

  cudaStream_t get() const { return stream_; }
  int device() const { return device_; }
  bool empty() const { return stream_ == nullptr; }

 private:
  cudaStream_t stream_ = nullptr;
  int device_ = -1;
};

enum class EventTiming { kDisabled, kEnabled };

class Event {
 public:
  Event() = default;
  // kDisabled (the default) is the cheap kind for ordering streams; kEnabled
  // allows elapsed_ms.
  explicit Event(int device, EventTiming timing = EventTiming::kDisabled);
  ~Event() { reset(); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  Event(Event&& other) noexcept;
  Event& operator=(Event&& other) noexcept;

  void reset();
  // Captures the work queued on `stream` so far (stream of the same device).
  void record(cudaStream_t stream);
  // Makes future work on `stream` wait for the captured work (any device).
  void wait_on(cudaStream_t stream) const;
  // Blocks the host until the captured work finished (setup, tests, timing).
  void synchronize() const;
  // True when the captured work has finished (never blocks).
  bool query() const;

  // Milliseconds between two recorded timing events (both completed).
  static float elapsed_ms(const Event& start, const Event& end);

  cudaEvent_t get() const { return event_; }
  int device() const { return device_; }
  bool empty() const { return event_ == nullptr; }

 private:
  cudaEvent_t event_ = nullptr;
  int device_ = -1;
};

}  // namespace banyan::cuda
