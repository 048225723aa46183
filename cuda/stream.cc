// Stream and event creation/destruction with the owning device current.
#include "cuda/stream.h"

#include <utility>

#include "cuda/check.h"
#include "cuda/memory.h"

namespace banyan::cuda {

// --- Stream -------------------------------------------------------------------

Stream::Stream(int device, StreamPriority priority) : device_(device) {
  DeviceGuard guard(device);
  int least = 0, greatest = 0;  // numerically greatest priority is the lowest
  BANYAN_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
  const int value = priority == StreamPriority::kHigh ? greatest : least;
  BANYAN_CUDA_CHECK(cudaStreamCreateWithPriority(&stream_, cudaStreamNonBlocking, value));
}

Stream::Stream(Stream&& other) noexcept
    : stream_(std::exchange(other.stream_, nullptr)), device_(std::exchange(other.device_, -1)) {}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    reset();
    stream_ = std::exchange(other.stream_, nullptr);
    device_ = std::exchange(other.device_, -1);
  }
  return *this;
}

void Stream::reset() {
  if (stream_ == nullptr) return;
  DeviceGuard guard(device_);
  BANYAN_CUDA_CHECK(cudaStreamDestroy(stream_));
  stream_ = nullptr;
  device_ = -1;
}

void Stream::synchronize() const { BANYAN_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

bool Stream::query() const {
  const cudaError_t e = cudaStreamQuery(stream_);
  if (e == cudaErrorNotReady) {
    cudaGetLastError();  // "not ready" is an answer, not an error
    return false;
  }
  BANYAN_CUDA_CHECK(e);
  return true;
}

// --- Event --------------------------------------------------------------------

Event::Event(int device, EventTiming timing) : device_(device) {
  DeviceGuard guard(device);
  const unsigned flags =
      timing == EventTiming::kEnabled ? cudaEventDefault : cudaEventDisableTiming;
  BANYAN_CUDA_CHECK(cudaEventCreateWithFlags(&event_, flags));
}

Event::Event(Event&& other) noexcept
    : event_(std::exchange(other.event_, nullptr)), device_(std::exchange(other.device_, -1)) {}

Event& Event::operator=(Event&& other) noexcept {
  if (this != &other) {
    reset();
    event_ = std::exchange(other.event_, nullptr);
    device_ = std::exchange(other.device_, -1);
  }
  return *this;
}

void Event::reset() {
  if (event_ == nullptr) return;
  DeviceGuard guard(device_);
  BANYAN_CUDA_CHECK(cudaEventDestroy(event_));
  event_ = nullptr;
  device_ = -1;
}

void Event::record(cudaStream_t stream) { BANYAN_CUDA_CHECK(cudaEventRecord(event_, stream)); }

void Event::wait_on(cudaStream_t stream) const {
  BANYAN_CUDA_CHECK(cudaStreamWaitEvent(stream, event_, 0));
}

void Event::synchronize() const { BANYAN_CUDA_CHECK(cudaEventSynchronize(event_)); }

bool Event::query() const {
  const cudaError_t e = cudaEventQuery(event_);
  if (e == cudaErrorNotReady) {
    cudaGetLastError();
    return false;
  }
  BANYAN_CUDA_CHECK(e);
  return true;
}

float Event::elapsed_ms(const Event& start, const Event& end) {
  float ms = 0.0f;
  BANYAN_CUDA_CHECK(cudaEventElapsedTime(&ms, start.event_, end.event_));
  return ms;
}

}  // namespace banyan::cuda
