// NcclAllReduce: the all-reduce on one NCCL communicator over distinct
// physical GPUs (CUDA builds only; DESIGN §5).  The communicators are made
// non-blocking (cuda/nccl.h) from the constructing thread; each rank then
// calls ncclAllReduce(sum, float, in place) on its own communicator and
// stream from its own thread and polls ncclCommGetAsyncError until the
// call is enqueued, holding its rank's mutex only for each (never blocking)
// NCCL call.  abort() takes each rank's mutex in turn, so it never runs
// ncclCommAbort while that rank is inside NCCL, and aborts the
// communicator; a rank polling sees the abort flag and returns Aborted,
// and a collective left waiting on the device is cancelled by the abort.
// Across processes the communicator spans every worker of the partition on
// every node, and NCCL itself builds the hierarchy: rings/trees over NVLink
// and PCIe inside a node, the NIC between nodes.
// NCCL fixes its own summation order per communicator and size, so results
// are bitwise equal on every rank and across reruns on the same machine,
// but not equal to the tree's.
#pragma once

#ifdef BANYAN_WITH_CUDA

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/memory.h"
#include "cuda/nccl.h"
#include "engine/exchange/abort_state.h"
#include "engine/exchange/all_reduce.h"
#include "engine/exchange/cluster.h"

namespace banyan {

class NcclAllReduce : public AllReduce {
 public:
  // Rank i on devices[i], all distinct; Internal with NCCL's message when
  // the communicator cannot be created.
  static Status create(const std::vector<int>& devices, std::unique_ptr<AllReduce>* out);
  // This process's share of one communicator over the workers of every
  // process (the exchange of a partition across nodes): local rank i on
  // devices[i] is NCCL rank process_rank * devices.size() + i.  Process 0
  // makes the ncclUniqueId and `comm` broadcasts it (over MPI); every
  // process must hold the same number of local participants.  size() is the
  // local count.  `wire` BF16 or FP16: every rank converts its gradients
  // into a 16-bit staging buffer on its stream (grown on the first call of
  // a larger size, after synchronising that stream; none in the steady
  // state), NCCL sums ncclBfloat16 / ncclFloat16, and the result is widened
  // back into `data` (the CPU's semantics, engine/exchange/wire.h, in
  // NCCL's reduction order; the in-node part of the communicator too).
  // Collective over the processes; InvalidArgument when the local counts
  // differ, Internal with NCCL's message on other failures.
  static Status create_across(const std::vector<int>& devices, ProcessComm* comm, int process_rank,
                              int processes, WirePrecision wire, std::unique_ptr<AllReduce>* out);
  ~NcclAllReduce() override;
  NcclAllReduce(const NcclAllReduce&) = delete;
  NcclAllReduce& operator=(const NcclAllReduce&) = delete;

  int size() const override { return comms_.size(); }
  Status all_reduce(int rank, float* data, size_t count, void* stream) override;
  void abort(const std::string& reason) override;

 private:
  NcclAllReduce() = default;
  // Under rank's mutex: convert into staging, enqueue the 16-bit all-reduce.
  // NCCL's refusal comes back in *nccl_error; other failures as the Status.
  Status enqueue_wire_all_reduce(int rank, float* data, size_t count, cudaStream_t stream,
                                 std::string* nccl_error);
  // Once NCCL reports the call enqueued: the 16-bit result widened into data.
  void widen_wire_result(int rank, float* data, size_t count, cudaStream_t stream);

  cuda::NcclCommGroup comms_;
  // rank_mu_[r] is held around each NCCL call of rank r (all non-blocking),
  // so abort frees no communicator between a rank's check of abort_ and its
  // call, nor during one.
  std::vector<std::unique_ptr<std::mutex>> rank_mu_;
  WirePrecision wire_ = WirePrecision::kFloat32;
  std::vector<cuda::DeviceBuffer> staging_;  // per rank, 16-bit wire only
  AbortState abort_;
};

}  // namespace banyan

#endif  // BANYAN_WITH_CUDA
