// NCCL backend of the gradient exchange.
#include "engine/exchange/nccl_all_reduce.h"

#ifdef BANYAN_WITH_CUDA

#include <glog/logging.h>

#include <chrono>

#include "cuda/check.h"
#include "cuda/memory.h"

namespace banyan {

Status NcclAllReduce::create(const std::vector<int>& devices, std::unique_ptr<AllReduce>* out) {
  std::unique_ptr<NcclAllReduce> self(new NcclAllReduce());
  std::string error;
  if (!self->comms_.init(devices, &error)) return Status::internal("NCCL: " + error);
  for (size_t r = 0; r < devices.size(); ++r) {
    self->rank_mu_.push_back(std::make_unique<std::timed_mutex>());
  }
  *out = std::move(self);
  return Status::success();
}

NcclAllReduce::~NcclAllReduce() = default;

Status NcclAllReduce::all_reduce(int rank, float* data, size_t count, void* stream) {
  CHECK(rank >= 0 && rank < size()) << "rank " << rank << " of " << size();
  std::lock_guard<std::timed_mutex> lock(*rank_mu_[rank]);
  if (abort_.aborted()) return abort_.status();
  cuda::NcclComm& comm = comms_[rank];
  cuda::DeviceGuard guard(comm.device());
  const std::string error = BANYAN_NCCL_ERROR(ncclAllReduce(
      data, data, count, ncclFloat, ncclSum, comm.get(), static_cast<cudaStream_t>(stream)));
  if (abort_.aborted()) return abort_.status();
  if (!error.empty()) {
    comm.mark_failed();
    return Status::internal("all-reduce on rank " + std::to_string(rank) + ": " + error);
  }
  return Status::success();
}

void NcclAllReduce::abort(const std::string& reason) {
  if (!abort_.set(reason)) return;
  // A rank inside NCCL may be blocked there until its communicator is
  // aborted: after a short wait for the lock, abort it regardless.
  for (int r = 0; r < size(); ++r) {
    const bool locked = rank_mu_[r]->try_lock_for(std::chrono::milliseconds(100));
    comms_[r].abort();
    if (locked) rank_mu_[r]->unlock();
  }
}

}  // namespace banyan

#endif  // BANYAN_WITH_CUDA
