// HierarchicalAllReduce: one partition's gradient sum across processes
// (Cluster).  Inside the process the local all-reduce sums over the local
// groups (the topology-aware tree or NCCL; none with one local group); then
// local participant 0 sums the node's result across the processes
// (ProcessComm: reduce to rank 0 and broadcast, so every process gets the
// same bits), and the other local participants copy it from participant 0.
// CPU participants only (host memory); GPU workers across processes use
// NcclAllReduce::create_across instead.  Every replica of the partition, on every
// process, ends with the same bits.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/exchange/abort_state.h"
#include "engine/exchange/all_reduce.h"
#include "engine/exchange/cluster.h"

namespace banyan {

class HierarchicalAllReduce : public AllReduce {
 public:
  // `local`: the all-reduce among the `local_size` participants of this
  // process (null when local_size is 1).  `comm`: this partition's
  // communicator over the processes.  `wire`: the element type of the
  // cross-process stage (ProcessComm::sum); the local stages stay FP32.
  HierarchicalAllReduce(std::unique_ptr<AllReduce> local, int local_size,
                        std::unique_ptr<ProcessComm> comm,
                        WirePrecision wire = WirePrecision::kFloat32);

  int size() const override { return local_size_; }
  Status all_reduce(int rank, float* data, size_t count, void* stream) override;
  // Wakes local participants waiting for participant 0; a participant inside
  // a cross-process collective is released only by ending the job
  // (Cluster::abort), which the workers do on any failure.
  void abort(const std::string& reason) override;

 private:
  std::unique_ptr<AllReduce> local_;
  int local_size_;
  std::unique_ptr<ProcessComm> comm_;
  WirePrecision wire_;
  AbortState abort_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<uint64_t> calls_;  // per local participant
  uint64_t published_ = 0;       // the call whose cross-process sum is ready
  const float* source_ = nullptr;
  int copied_ = 0;
};

}  // namespace banyan
