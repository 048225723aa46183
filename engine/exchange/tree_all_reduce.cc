// The chunked, pipelined CPU tree all-reduce.  Each rank's thread does its
// own work: it adds its children's chunks into its buffer as they complete,
// and copies result chunks down from its parent as they appear, preferring a
// ready copy over a reduction that would have to wait.
#include "engine/exchange/tree_all_reduce.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstring>

namespace banyan {

TreeAllReduce::TreeAllReduce(ExchangeTree tree, size_t chunk_bytes)
    : tree_(std::move(tree)), chunk_floats_(chunk_bytes / sizeof(float)) {
  CHECK_GE(chunk_floats_, 1u) << "chunk of " << chunk_bytes << " bytes";
  for (int r = 0; r < tree_.size(); ++r) ranks_.push_back(std::make_unique<RankState>());
}

TreeAllReduce::~TreeAllReduce() = default;

bool TreeAllReduce::wait_for(int peer, Progress RankState::*field, uint64_t generation,
                             uint64_t chunks, float** peer_data) {
  RankState& s = *ranks_[peer];
  std::unique_lock<std::mutex> lock(s.mu);
  s.cv.wait(lock, [&] { return abort_.aborted() || (s.*field).reached(generation, chunks); });
  if (abort_.aborted()) return false;
  if (peer_data != nullptr) *peer_data = s.data;
  return true;
}

bool TreeAllReduce::ready(int peer, Progress RankState::*field, uint64_t generation,
                          uint64_t chunks) {
  RankState& s = *ranks_[peer];
  std::lock_guard<std::mutex> lock(s.mu);
  return (s.*field).reached(generation, chunks);
}

void TreeAllReduce::publish(int rank, Progress RankState::*field, uint64_t generation,
                            uint64_t chunks) {
  RankState& s = *ranks_[rank];
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.*field = Progress{generation, chunks};
  }
  s.cv.notify_all();
}

bool TreeAllReduce::reduce_chunk(const Call& call, uint64_t chunk) {
  const size_t begin = chunk * chunk_floats_;
  const size_t n = std::min(chunk_floats_, call.count - begin);
  float* mine = call.data + begin;
  for (int child : tree_.children(call.rank)) {
    float* theirs = nullptr;
    if (!wait_for(child, &RankState::up, call.generation, chunk + 1, &theirs)) return false;
    theirs += begin;
    for (size_t i = 0; i < n; ++i) mine[i] += theirs[i];
  }
  publish(call.rank, &RankState::up, call.generation, chunk + 1);
  if (tree_.parent(call.rank) < 0) publish(call.rank, &RankState::down, call.generation, chunk + 1);
  return true;
}

bool TreeAllReduce::copy_down_chunk(const Call& call, uint64_t chunk) {
  float* parent_data = nullptr;
  if (!wait_for(tree_.parent(call.rank), &RankState::down, call.generation, chunk + 1,
                &parent_data)) {
    return false;
  }
  const size_t begin = chunk * chunk_floats_;
  const size_t n = std::min(chunk_floats_, call.count - begin);
  std::memcpy(call.data + begin, parent_data + begin, n * sizeof(float));
  publish(call.rank, &RankState::down, call.generation, chunk + 1);
  return true;
}

Status TreeAllReduce::all_reduce(int rank, float* data, size_t count, void* /*stream*/) {
  CHECK(rank >= 0 && rank < size()) << "rank " << rank << " of " << size();
  if (abort_.aborted()) return abort_.status();
  RankState& self = *ranks_[rank];
  Call call{rank, ++self.generation, count, (count + chunk_floats_ - 1) / chunk_floats_, data};
  {
    std::lock_guard<std::mutex> lock(self.mu);
    self.data = data;
    self.count = count;
    self.count_generation = call.generation;
  }
  // A child may be a call ahead (calls of 0 floats do not wait for the
  // parent: its `up` may still show this call while its count is already
  // the next call's), never behind with data this call reads.
  for (int child : tree_.children(rank)) {
    RankState& c = *ranks_[child];
    std::lock_guard<std::mutex> lock(c.mu);
    CHECK(c.count_generation != call.generation || c.count == count)
        << "all_reduce: rank " << child << " brought " << c.count << " floats, rank " << rank << " "
        << count;
  }
  const int parent = tree_.parent(rank);
  uint64_t up = 0, down = 0;
  while (up < call.num_chunks || (parent >= 0 && down < call.num_chunks)) {
    const bool can_copy =
        parent >= 0 && down < up &&
        (up == call.num_chunks || ready(parent, &RankState::down, call.generation, down + 1));
    const bool ok = can_copy ? copy_down_chunk(call, down++) : reduce_chunk(call, up++);
    if (!ok) return abort_.status();
  }
  if (parent < 0 || call.num_chunks == 0) {
    publish(rank, &RankState::up, call.generation, call.num_chunks);
    publish(rank, &RankState::down, call.generation, call.num_chunks);
  }
  // Children copy from this buffer: it must outlive their reads.
  for (int child : tree_.children(rank)) {
    if (!wait_for(child, &RankState::down, call.generation, call.num_chunks, nullptr)) {
      return abort_.status();
    }
  }
  return Status::success();
}

void TreeAllReduce::abort(const std::string& reason) {
  if (!abort_.set(reason)) return;
  for (auto& s : ranks_) {
    { std::lock_guard<std::mutex> lock(s->mu); }
    s->cv.notify_all();
  }
}

}  // namespace banyan
