// NCCL backend of the gradient exchange.
#include "engine/exchange/nccl_all_reduce.h"

#ifdef BANYAN_WITH_CUDA

#include <glog/logging.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "cuda/check.h"
#include "cuda/elementwise.h"
#include "cuda/memory.h"

namespace banyan {

Status NcclAllReduce::create(const std::vector<int>& devices, std::unique_ptr<AllReduce>* out) {
  std::unique_ptr<NcclAllReduce> self(new NcclAllReduce());
  std::string error;
  if (!self->comms_.init(devices, &error)) return Status::internal("NCCL: " + error);
  for (size_t r = 0; r < devices.size(); ++r) {
    self->rank_mu_.push_back(std::make_unique<std::mutex>());
  }
  *out = std::move(self);
  return Status::success();
}

Status NcclAllReduce::create_across(const std::vector<int>& devices, ProcessComm* comm,
                                    int process_rank, int processes, WirePrecision wire,
                                    std::unique_ptr<AllReduce>* out) {
  CHECK(comm != nullptr);
  std::vector<uint64_t> counts;
  BANYAN_RETURN_IF_ERROR(comm->gather_all(devices.size(), &counts));
  for (size_t p = 0; p < counts.size(); ++p) {
    if (counts[p] != devices.size()) {
      return Status::invalid_argument(
          "NCCL across processes: process " + std::to_string(p) + " holds " +
          std::to_string(counts[p]) + " workers of this partition and process " +
          std::to_string(process_rank) + " holds " + std::to_string(devices.size()) +
          "; every process needs the same --devices count and --group_size");
    }
  }
  // Process 0's id and whether it could make one reach everyone, so a
  // failure there stops all instead of leaving them waiting for peers.
  struct Bootstrap {
    int32_t made = 0;
    ncclUniqueId id;
  } boot;
  std::memset(&boot.id, 0, sizeof(boot.id));
  std::string error;
  if (process_rank == 0) boot.made = cuda::nccl_unique_id(&boot.id, &error) ? 1 : 0;
  BANYAN_RETURN_IF_ERROR(comm->broadcast(&boot, sizeof(boot)));
  if (boot.made == 0) {
    return Status::internal("NCCL across processes: process 0 could not make the unique id" +
                            (error.empty() ? std::string() : ": " + error));
  }
  const ncclUniqueId& id = boot.id;
  std::unique_ptr<NcclAllReduce> self(new NcclAllReduce());
  const int local = static_cast<int>(devices.size());
  if (!self->comms_.init(devices, id, local * processes, local * process_rank, &error)) {
    return Status::internal("NCCL across " + std::to_string(processes) + " processes: " + error);
  }
  for (int r = 0; r < local; ++r) self->rank_mu_.push_back(std::make_unique<std::mutex>());
  self->wire_ = wire;
  self->staging_.resize(static_cast<size_t>(local));
  *out = std::move(self);
  return Status::success();
}

NcclAllReduce::~NcclAllReduce() = default;

Status NcclAllReduce::all_reduce(int rank, float* data, size_t count, void* stream) {
  CHECK(rank >= 0 && rank < size()) << "rank " << rank << " of " << size();
  cuda::NcclComm& comm = comms_[rank];
  std::mutex& mu = *rank_mu_[rank];
  {
    std::lock_guard<std::mutex> lock(mu);
    if (abort_.aborted()) return abort_.status();
    cuda::DeviceGuard guard(comm.device());
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    std::string error;
    if (wire_ == WirePrecision::kFloat32) {
      error =
          BANYAN_NCCL_STARTED(ncclAllReduce(data, data, count, ncclFloat, ncclSum, comm.get(), s));
    } else {
      BANYAN_RETURN_IF_ERROR(enqueue_wire_all_reduce(rank, data, count, s, &error));
    }
    if (!error.empty()) {
      comm.mark_failed();
      return Status::internal("all-reduce on rank " + std::to_string(rank) + ": " + error);
    }
  }
  // Non-blocking: the call may still be enqueueing (e.g. connecting to the
  // peers on first use).  Poll until it is, or until someone aborts.
  for (int polls = 0;; ++polls) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (abort_.aborted()) return abort_.status();
      const ncclResult_t state = comm.poll();
      if (state == ncclSuccess) {
        // The 16-bit sum is on the stream now: widen it back after it.
        if (wire_ != WirePrecision::kFloat32) {
          cuda::DeviceGuard guard(comm.device());
          widen_wire_result(rank, data, count, static_cast<cudaStream_t>(stream));
        }
        return Status::success();
      }
      if (state != ncclInProgress) {
        return Status::internal("all-reduce on rank " + std::to_string(rank) + ": " +
                                comm.async_error());
      }
    }
    if (polls < 100) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
}

Status NcclAllReduce::enqueue_wire_all_reduce(int rank, float* data, size_t count,
                                              cudaStream_t stream, std::string* nccl_error) {
  cuda::NcclComm& comm = comms_[rank];
  cuda::DeviceBuffer& staging = staging_[static_cast<size_t>(rank)];
  if (count * sizeof(uint16_t) > staging.bytes()) {
    // The previous call's NCCL work may still use the old buffer.
    const cudaError_t e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) {
      return Status::internal("rank " + std::to_string(rank) +
                              ": cudaStreamSynchronize: " + cudaGetErrorString(e));
    }
    std::string error;
    if (!staging.allocate(comm.device(), count * sizeof(uint16_t), &error)) {
      return Status::resource_exhausted("16-bit exchange staging on rank " + std::to_string(rank) +
                                        ": " + error);
    }
  }
  uint16_t* bits = staging.as<uint16_t>();
  const int64_t n = static_cast<int64_t>(count);
  const bool bf16 = wire_ == WirePrecision::kBf16;
  if (bf16) {
    cuda::float_to_bf16(n, data, bits, stream);
  } else {
    cuda::float_to_half_saturated(n, data, bits, stream);
  }
  *nccl_error = BANYAN_NCCL_STARTED(ncclAllReduce(
      bits, bits, count, bf16 ? ncclBfloat16 : ncclFloat16, ncclSum, comm.get(), stream));
  return Status::success();
}

void NcclAllReduce::widen_wire_result(int rank, float* data, size_t count, cudaStream_t stream) {
  const uint16_t* bits = staging_[static_cast<size_t>(rank)].as<uint16_t>();
  const int64_t n = static_cast<int64_t>(count);
  if (wire_ == WirePrecision::kBf16) {
    cuda::bf16_to_float(n, bits, data, stream);
  } else {
    cuda::half_to_float(n, bits, data, stream);
  }
}

void NcclAllReduce::abort(const std::string& reason) {
  if (!abort_.set(reason)) return;
  // No rank is ever blocked inside NCCL (non-blocking communicators), so
  // each lock is taken within one short call.
  for (int r = 0; r < size(); ++r) {
    std::lock_guard<std::mutex> lock(*rank_mu_[r]);
    comms_[r].abort();
  }
}

}  // namespace banyan

#endif  // BANYAN_WITH_CUDA
