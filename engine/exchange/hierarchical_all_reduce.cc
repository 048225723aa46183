// Local sum, cross-process sum at local participant 0, local copy-out.
#include "engine/exchange/hierarchical_all_reduce.h"

#include <glog/logging.h>

#include <cstring>

namespace banyan {

HierarchicalAllReduce::HierarchicalAllReduce(std::unique_ptr<AllReduce> local, int local_size,
                                             std::unique_ptr<ProcessComm> comm, WirePrecision wire)
    : local_(std::move(local)),
      local_size_(local_size),
      comm_(std::move(comm)),
      wire_(wire),
      calls_(static_cast<size_t>(local_size), 0) {
  CHECK_GE(local_size_, 1);
  CHECK(local_size_ == 1 || (local_ != nullptr && local_->size() == local_size_));
}

Status HierarchicalAllReduce::all_reduce(int rank, float* data, size_t count, void* stream) {
  CHECK(rank >= 0 && rank < local_size_) << "rank " << rank << " of " << local_size_;
  CHECK(stream == nullptr) << "HierarchicalAllReduce: CPU participants only";
  if (abort_.aborted()) return abort_.status();
  const uint64_t call = ++calls_[static_cast<size_t>(rank)];
  if (local_ != nullptr) BANYAN_RETURN_IF_ERROR(local_->all_reduce(rank, data, count, stream));
  if (rank == 0) {
    BANYAN_RETURN_IF_ERROR(
        comm_->sum(data, count, wire_).with_context("cross-process gradient sum"));
    if (local_size_ == 1) return Status::success();
    std::unique_lock<std::mutex> lock(mu_);
    source_ = data;
    copied_ = 0;
    published_ = call;
    cv_.notify_all();
    // The others read this buffer: keep it until every one has.
    cv_.wait(lock, [&] { return abort_.aborted() || copied_ == local_size_ - 1; });
    return abort_.aborted() ? abort_.status() : Status::success();
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return abort_.aborted() || published_ == call; });
  if (abort_.aborted()) return abort_.status();
  std::memcpy(data, source_, count * sizeof(float));
  ++copied_;
  cv_.notify_all();
  return Status::success();
}

void HierarchicalAllReduce::abort(const std::string& reason) {
  if (!abort_.set(reason)) return;
  if (local_ != nullptr) local_->abort(reason);
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

}  // namespace banyan
