// ReferenceAllReduce: the plain CPU sum-all-reduce behind the AllReduce
// contract (engine/exchange/all_reduce.h), for CPU workers and tests: a
// barrier, a sum in rank order into a staging buffer, a copy back to every
// rank.  Simple rather than fast; the tree backend is the real one.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "engine/exchange/all_reduce.h"

namespace banyan {

class ReferenceAllReduce : public AllReduce {
 public:
  // `size` participants (>= 1), all on the CPU.
  explicit ReferenceAllReduce(int size);
  ReferenceAllReduce(const ReferenceAllReduce&) = delete;
  ReferenceAllReduce& operator=(const ReferenceAllReduce&) = delete;

  int size() const override { return size_; }
  // Waits until every rank has arrived; the last to arrive sums the buffers
  // in rank order (so the bits do not depend on arrival order) and every
  // rank copies the sum back before the next collective may start.
  Status all_reduce(int rank, float* data, size_t count, void* stream) override;
  void abort(const std::string& reason) override;

 private:
  Status aborted_status() const;

  const int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<float*> inputs_;  // per rank, for the current collective
  std::vector<float> sum_;
  size_t count_ = 0;
  int arrived_ = 0;
  int copied_ = 0;
  uint64_t generation_ = 0;  // completed sums
  bool aborted_ = false;
  std::string reason_;
};

}  // namespace banyan
