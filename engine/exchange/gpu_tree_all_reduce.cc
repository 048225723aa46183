// The GPU tree all-reduce: the CPU tree's host protocol (published progress
// per rank and generation) driving stream work ordered by events.
#include "engine/exchange/gpu_tree_all_reduce.h"

#ifdef BANYAN_WITH_CUDA

#include <glog/logging.h>

#include <algorithm>

#include "cuda/check.h"
#include "cuda/elementwise.h"
#include "cuda/memory.h"

namespace banyan {

GpuTreeAllReduce::GpuTreeAllReduce(ExchangeTree tree, size_t chunk_floats)
    : tree_(std::move(tree)), chunk_floats_(chunk_floats) {}

GpuTreeAllReduce::~GpuTreeAllReduce() = default;

Status GpuTreeAllReduce::create(ExchangeTree tree, const std::vector<int>& devices,
                                size_t chunk_bytes, std::unique_ptr<AllReduce>* out) {
  CHECK_EQ(static_cast<int>(devices.size()), tree.size());
  const size_t chunk_floats = chunk_bytes / sizeof(float);
  CHECK_GE(chunk_floats, 1u);
  std::unique_ptr<GpuTreeAllReduce> self(new GpuTreeAllReduce(std::move(tree), chunk_floats));
  std::string peer_error;
  if (!cuda::enable_peer_access(devices, nullptr, &peer_error)) {
    return Status::internal("GPU exchange tree: " + peer_error);
  }
  for (size_t r = 0; r < devices.size(); ++r) {
    auto state = std::make_unique<RankState>();
    state->device = devices[r];
    state->entry = cuda::Event(devices[r]);
    bool remote_child = false;
    for (int child : self->tree_.children(r)) remote_child |= devices[child] != devices[r];
    std::string error;
    if (remote_child &&
        !state->staging.allocate(devices[r], chunk_floats * sizeof(float), &error)) {
      return Status::resource_exhausted("exchange staging for rank " + std::to_string(r) + ": " +
                                        error);
    }
    self->ranks_.push_back(std::move(state));
  }
  *out = std::move(self);
  return Status::success();
}

cudaEvent_t GpuTreeAllReduce::event_of(int rank, Phase phase, uint64_t chunk) const {
  const RankState& s = *ranks_[rank];
  if (phase == Phase::kUp) {
    return tree_.children(rank).empty() ? s.entry.get() : s.up_events[chunk].get();
  }
  return tree_.parent(rank) < 0 ? s.up_events[chunk].get() : s.down_events[chunk].get();
}

bool GpuTreeAllReduce::wait_for(int peer, Phase phase, const Call& call, uint64_t chunk,
                                PeerChunk* out) {
  RankState& s = *ranks_[peer];
  std::unique_lock<std::mutex> lock(s.mu);
  const Progress& progress = phase == Phase::kUp ? s.up : s.down;
  s.cv.wait(lock, [&] { return abort_.aborted() || progress.reached(call.generation, chunk + 1); });
  if (abort_.aborted()) return false;
  *out = PeerChunk{s.data, s.device, event_of(peer, phase, chunk)};
  return true;
}

bool GpuTreeAllReduce::ready(int peer, uint64_t generation, uint64_t chunks) {
  RankState& s = *ranks_[peer];
  std::lock_guard<std::mutex> lock(s.mu);
  return s.down.reached(generation, chunks);
}

void GpuTreeAllReduce::publish(int rank, Phase phase, uint64_t generation, uint64_t chunks) {
  RankState& s = *ranks_[rank];
  {
    std::lock_guard<std::mutex> lock(s.mu);
    (phase == Phase::kUp ? s.up : s.down) = Progress{generation, chunks};
  }
  s.cv.notify_all();
}

bool GpuTreeAllReduce::reduce_chunk(const Call& call, uint64_t chunk) {
  RankState& self = *ranks_[call.rank];
  const size_t begin = chunk * chunk_floats_;
  const size_t n = std::min(chunk_floats_, call.count - begin);
  float* mine = call.data + begin;  // (n)
  for (int child : tree_.children(call.rank)) {
    PeerChunk theirs;
    if (!wait_for(child, Phase::kUp, call, chunk, &theirs)) return false;
    BANYAN_CUDA_CHECK(cudaStreamWaitEvent(call.stream, theirs.event, 0));
    const float* addend = theirs.data + begin;
    if (theirs.device != self.device) {
      cuda::copy_peer_async(self.staging.data(), self.device, addend, theirs.device,
                            n * sizeof(float), call.stream);
      addend = self.staging.as<float>();
    }
    cuda::add(static_cast<int64_t>(n), mine, addend, mine, call.stream);
  }
  self.up_events[chunk].record(call.stream);
  publish(call.rank, Phase::kUp, call.generation, chunk + 1);
  if (tree_.parent(call.rank) < 0) publish(call.rank, Phase::kDown, call.generation, chunk + 1);
  return true;
}

bool GpuTreeAllReduce::copy_down_chunk(const Call& call, uint64_t chunk) {
  RankState& self = *ranks_[call.rank];
  PeerChunk parent;
  if (!wait_for(tree_.parent(call.rank), Phase::kDown, call, chunk, &parent)) return false;
  BANYAN_CUDA_CHECK(cudaStreamWaitEvent(call.stream, parent.event, 0));
  const size_t begin = chunk * chunk_floats_;
  const size_t n = std::min(chunk_floats_, call.count - begin);
  cuda::copy_peer_async(call.data + begin, self.device, parent.data + begin, parent.device,
                        n * sizeof(float), call.stream);
  self.down_events[chunk].record(call.stream);
  publish(call.rank, Phase::kDown, call.generation, chunk + 1);
  return true;
}

// Grows the chunk events on first use of a size, records the entry event
// and publishes the buffer (a leaf's whole subtree sum is its input).
void GpuTreeAllReduce::prepare(const Call& call) {
  RankState& self = *ranks_[call.rank];
  const bool leaf = tree_.children(call.rank).empty();
  std::lock_guard<std::mutex> lock(self.mu);
  while (!leaf && self.up_events.size() < call.num_chunks) self.up_events.emplace_back(self.device);
  while (tree_.parent(call.rank) >= 0 && self.down_events.size() < call.num_chunks) {
    self.down_events.emplace_back(self.device);
  }
  self.entry.record(call.stream);
  self.data = call.data;
  if (leaf) self.up = Progress{call.generation, call.num_chunks};
}

Status GpuTreeAllReduce::all_reduce(int rank, float* data, size_t count, void* stream) {
  CHECK(rank >= 0 && rank < size()) << "rank " << rank << " of " << size();
  if (abort_.aborted()) return abort_.status();
  RankState& self = *ranks_[rank];
  cuda::DeviceGuard guard(self.device);
  Call call{rank,  ++self.generation,
            count, (count + chunk_floats_ - 1) / chunk_floats_,
            data,  static_cast<cudaStream_t>(stream)};
  prepare(call);
  self.cv.notify_all();
  const int parent = tree_.parent(rank);
  uint64_t up = tree_.children(rank).empty() ? call.num_chunks : 0, down = 0;
  while (up < call.num_chunks || (parent >= 0 && down < call.num_chunks)) {
    const bool can_copy = parent >= 0 && down < up &&
                          (up == call.num_chunks || ready(parent, call.generation, down + 1));
    const bool ok = can_copy ? copy_down_chunk(call, down++) : reduce_chunk(call, up++);
    if (!ok) return abort_.status();
  }
  if (parent < 0 || call.num_chunks == 0) {
    publish(rank, Phase::kUp, call.generation, call.num_chunks);
    publish(rank, Phase::kDown, call.generation, call.num_chunks);
  }
  // Children copy from this buffer: later work on this stream waits for them.
  for (int child : tree_.children(rank)) {
    PeerChunk done;
    if (call.num_chunks == 0) continue;
    if (!wait_for(child, Phase::kDown, call, call.num_chunks - 1, &done)) return abort_.status();
    BANYAN_CUDA_CHECK(cudaStreamWaitEvent(call.stream, done.event, 0));
  }
  return Status::success();
}

void GpuTreeAllReduce::abort(const std::string& reason) {
  if (!abort_.set(reason)) return;
  for (auto& s : ranks_) {
    { std::lock_guard<std::mutex> lock(s->mu); }
    s->cv.notify_all();
  }
}

}  // namespace banyan

#endif  // BANYAN_WITH_CUDA
