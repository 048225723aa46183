// TreeAllReduce: the engine's all-reduce for CPU participants (DESIGN §5).
// Sums up the ExchangeTree and copies the result back down, in chunks so the
// levels pipeline: a parent adds chunk c of a child while that child is still
// adding chunk c+1 from below, and a child copies down chunk c of the result
// while its parent still works on later chunks.  All participants share one
// address space, so a parent reads its children's buffers in place and a
// child copies from its parent's: no staging memory at all.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/exchange/abort_state.h"
#include "engine/exchange/all_reduce.h"
#include "engine/exchange/tree.h"

namespace banyan {

class TreeAllReduce : public AllReduce {
 public:
  static constexpr size_t kDefaultChunkBytes = size_t{1} << 20;

  // Participants are the tree's ranks; chunk_bytes >= sizeof(float).
  explicit TreeAllReduce(ExchangeTree tree, size_t chunk_bytes = kDefaultChunkBytes);
  ~TreeAllReduce() override;
  TreeAllReduce(const TreeAllReduce&) = delete;
  TreeAllReduce& operator=(const TreeAllReduce&) = delete;

  int size() const override { return tree_.size(); }
  // See AllReduce.  Each rank's sum is its own data plus its children's
  // partial sums, added one at a time in the tree's child order.  `data`
  // must stay valid until the call returns (it is read by the parent and
  // the children meanwhile); `stream` is ignored.
  Status all_reduce(int rank, float* data, size_t count, void* stream) override;
  void abort(const std::string& reason) override;

  const ExchangeTree& tree() const { return tree_; }

 private:
  // Progress of one collective: (generation, chunks done), compared in that order.
  struct Progress {
    uint64_t generation = 0;
    uint64_t chunks = 0;
    bool reached(uint64_t g, uint64_t c) const {
      return generation > g || (generation == g && chunks >= c);
    }
  };
  // What one rank publishes to its parent and children; guarded by `mu`.
  struct RankState {
    std::mutex mu;
    std::condition_variable cv;
    Progress up;    // chunks holding this rank's subtree sum
    Progress down;  // chunks holding the final sum
    float* data = nullptr;
    size_t count = 0;
    uint64_t count_generation = 0;  // the call `data` and `count` belong to
    uint64_t generation = 0;        // calls begun; touched only by the rank's own thread
  };
  struct Call {
    int rank;
    uint64_t generation;
    size_t count;
    uint64_t num_chunks;
    float* data;
  };

  // Blocks until `field` of `peer` reached chunk `chunks` of `generation`
  // (true) or the exchange was aborted (false).  Returns the peer's buffer.
  bool wait_for(int peer, Progress RankState::*field, uint64_t generation, uint64_t chunks,
                float** peer_data);
  // True, without blocking, when the parent's result chunk `chunks` is ready.
  bool ready(int peer, Progress RankState::*field, uint64_t generation, uint64_t chunks);
  void publish(int rank, Progress RankState::*field, uint64_t generation, uint64_t chunks);
  bool reduce_chunk(const Call& call, uint64_t chunk);
  bool copy_down_chunk(const Call& call, uint64_t chunk);

  ExchangeTree tree_;
  size_t chunk_floats_;
  std::vector<std::unique_ptr<RankState>> ranks_;
  AbortState abort_;
};

}  // namespace banyan
