// GpuTreeAllReduce: the tree all-reduce on CUDA devices (CUDA builds only).
// The same tree, chunking and summation order as TreeAllReduce, as stream
// work: a parent waits on its child's chunk event, copies the chunk with
// cudaMemcpyPeerAsync into staging on its own device (or reads it in place
// when both share a device) and adds it with the sum kernel; children copy
// result chunks down the same way.  Everything is enqueued on the stream
// each rank passes in and ordered across ranks with events; the host never
// waits for the device.  Host threads only wait for each other's enqueueing
// (a rank cannot wait on an event its peer has not recorded yet).  Staging
// (one chunk per rank with a child on another device) is allocated at
// creation and chunk events when a call first needs that many: after the
// first call of the largest size, all_reduce allocates nothing.
#pragma once

#ifdef BANYAN_WITH_CUDA

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/memory.h"
#include "cuda/stream.h"
#include "engine/exchange/abort_state.h"
#include "engine/exchange/all_reduce.h"
#include "engine/exchange/tree.h"

namespace banyan {

class GpuTreeAllReduce : public AllReduce {
 public:
  // Rank i on CUDA device devices[i] (repeats allowed); ResourceExhausted
  // when staging cannot be allocated.
  static Status create(ExchangeTree tree, const std::vector<int>& devices, size_t chunk_bytes,
                       std::unique_ptr<AllReduce>* out);
  ~GpuTreeAllReduce() override;
  GpuTreeAllReduce(const GpuTreeAllReduce&) = delete;
  GpuTreeAllReduce& operator=(const GpuTreeAllReduce&) = delete;

  int size() const override { return tree_.size(); }
  // See AllReduce: enqueues on `stream` (a cudaStream_t of the rank's
  // device) and returns; `data` is device memory of the rank's device.
  Status all_reduce(int rank, float* data, size_t count, void* stream) override;
  void abort(const std::string& reason) override;

 private:
  struct Progress {
    uint64_t generation = 0;
    uint64_t chunks = 0;
    bool reached(uint64_t g, uint64_t c) const {
      return generation > g || (generation == g && chunks >= c);
    }
  };
  // One rank's published state; everything but `generation` under `mu`.
  struct RankState {
    int device = 0;
    std::mutex mu;
    std::condition_variable cv;
    Progress up, down;
    float* data = nullptr;
    cuda::Event entry;                     // the caller's data is ready
    std::vector<cuda::Event> up_events;    // chunk c holds the subtree sum
    std::vector<cuda::Event> down_events;  // chunk c holds the result
    cuda::DeviceBuffer staging;            // one chunk, for children on other devices
    uint64_t generation = 0;
  };
  struct Call {
    int rank;
    uint64_t generation;
    size_t count;
    uint64_t num_chunks;
    float* data;
    cudaStream_t stream;
  };
  // What a waiter takes from a peer once it reached the awaited progress.
  struct PeerChunk {
    float* data = nullptr;
    int device = 0;
    cudaEvent_t event = nullptr;
  };
  enum class Phase { kUp, kDown };

  GpuTreeAllReduce(ExchangeTree tree, size_t chunk_floats);
  bool wait_for(int peer, Phase phase, const Call& call, uint64_t chunk, PeerChunk* out);
  bool ready(int peer, uint64_t generation, uint64_t chunks);
  void publish(int rank, Phase phase, uint64_t generation, uint64_t chunks);
  // The event marking chunk c of `s` for `phase`; under s.mu.
  cudaEvent_t event_of(int rank, Phase phase, uint64_t chunk) const;
  bool reduce_chunk(const Call& call, uint64_t chunk);
  bool copy_down_chunk(const Call& call, uint64_t chunk);
  void prepare(const Call& call);

  ExchangeTree tree_;
  size_t chunk_floats_;
  std::vector<std::unique_ptr<RankState>> ranks_;
  AbortState abort_;
};

}  // namespace banyan

#endif  // BANYAN_WITH_CUDA
