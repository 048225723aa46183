// ReferenceAllReduce: barrier, rank-ordered sum, copy back; abortable.
#include "engine/exchange/reference_all_reduce.h"

#include <glog/logging.h>

#include <algorithm>

namespace banyan {

ReferenceAllReduce::ReferenceAllReduce(int size) : size_(size), inputs_(size, nullptr) {
  CHECK_GE(size, 1);
}

Status ReferenceAllReduce::aborted_status() const {
  return Status::aborted("all-reduce aborted: " + reason_);
}

Status ReferenceAllReduce::all_reduce(int rank, float* data, size_t count, void* /*stream*/) {
  CHECK(rank >= 0 && rank < size_) << "rank " << rank << " of " << size_;
  std::unique_lock<std::mutex> lock(mu_);
  // A rank that finished the previous collective early waits for the others
  // to copy it out before reusing the staging state.
  cv_.wait(lock, [&] { return aborted_ || copied_ == 0; });
  if (aborted_) return aborted_status();
  if (arrived_ == 0) {
    count_ = count;
  } else {
    CHECK_EQ(count, count_) << "all-reduce rank " << rank << ": count differs from its peers";
  }
  CHECK(inputs_[rank] == nullptr) << "all-reduce rank " << rank << " arrived twice";
  inputs_[rank] = data;
  const uint64_t generation = generation_;
  if (++arrived_ == size_) {
    sum_.assign(inputs_[0], inputs_[0] + count);
    for (int r = 1; r < size_; ++r) {
      const float* in = inputs_[r];
      for (size_t i = 0; i < count; ++i) sum_[i] += in[i];
    }
    ++generation_;
    cv_.notify_all();
  } else {
    cv_.wait(lock, [&] { return aborted_ || generation_ != generation; });
    if (aborted_) return aborted_status();
  }
  std::copy(sum_.begin(), sum_.end(), data);
  inputs_[rank] = nullptr;
  if (++copied_ == size_) {
    copied_ = 0;
    arrived_ = 0;
    cv_.notify_all();
  }
  return Status::success();
}

void ReferenceAllReduce::abort(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!aborted_) {
    aborted_ = true;
    reason_ = reason;
  }
  cv_.notify_all();
}

}  // namespace banyan
