// Workers: the worker threads of a training run (DESIGN §4).  `devices`
// lists one logical worker per entry (ids may repeat); consecutive runs of
// group_size workers form a group, whose workers split the model by
// partition and talk through the group's TransferHub; the workers of the
// same rank in every group exchange gradients through one AllReduce per
// rank.  Each worker has its own host thread and WorkerContext; run() hands
// every thread the same job and waits.  The first failure aborts every hub
// and every AllReduce, so no peer is left waiting, and every later run()
// returns that failure.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/context.h"
#include "engine/core/device.h"
#include "engine/core/status.h"
#include "engine/exchange/all_reduce.h"
#include "engine/exchange/cluster.h"
#include "engine/exchange/exchange.h"
#include "layers/transfer.h"

namespace banyan {

// Makes the AllReduce of `backend` (tree or nccl, already resolved for the
// whole layout) among `devices` (the workers of one rank, group order).
using AllReduceFactory = std::function<Status(
    ExchangeBackend backend, const std::vector<Device>& devices, std::unique_ptr<AllReduce>* out)>;

// The default factory: probes this machine's topology once, when the first
// GPU participant needs it, then builds the backend's all-reduce
// (engine/exchange/exchange.h).  The returned factory is thread-safe.
AllReduceFactory make_exchange_factory();

// The participants of each rank's exchange: entry k lists the devices of the
// workers of rank k, one per group, in group order.
std::vector<std::vector<Device>> rank_participants(const std::vector<Device>& devices,
                                                   int group_size);

// Enables peer access between every two distinct GPUs of `devices` that can
// reach each other (cuda/memory.h), so Transfer layers and the exchange copy
// directly; pairs that cannot are logged.  No-op without CUDA or with fewer
// than two distinct GPUs.  Internal on a CUDA error.
Status enable_peer_access_among(const std::vector<Device>& devices);

// InvalidArgument unless `devices` is non-empty, all CPU or all GPUs,
// group_size >= 1 and the number of workers is a multiple of group_size.
Status validate_worker_layout(const std::vector<Device>& devices, int group_size);

struct WorkersOptions {
  std::vector<Device> devices;  // one worker per entry
  int group_size = 1;
  uint64_t seed = 1;
  GpuOptions gpu;
  // CPU workers: `cpu.threads` (0: default_cpu_threads()) are the threads
  // of all of this process's CPU workers together, split evenly among them.
  CpuOptions cpu;
  // --exchange: resolved for the whole layout by resolve_layout_backends
  // (NCCL only where it is safe; `nccl` refuses unsafe layouts).
  ExchangeBackend exchange = ExchangeBackend::kAuto;
  AllReduceFactory make_all_reduce = make_exchange_factory();
  // The processes of the run (engine/exchange/cluster.h); null: this one
  // only.  With several, every process has its own `devices` (the same
  // count and group_size on each), the groups of all processes train one
  // model, and each partition's exchange continues across the processes
  // (CPU workers: HierarchicalAllReduce, the tree then MPI; GPU workers: one
  // NCCL communicator over every process).  Must outlive the workers.
  Cluster* cluster = nullptr;
  // The element type of the gradients between processes (CPU workers:
  // HierarchicalAllReduce's MPI stage; GPU workers: the whole NCCL
  // exchange, whose one communicator spans the node and the nodes).
  WirePrecision exchange_precision = WirePrecision::kFloat32;
};

class Workers {
 public:
  // Validates the layout, starts one thread per worker, initialises each
  // worker's device on its own thread, enables peer access among the GPUs
  // and builds the exchanges (one AllReduce per rank when there are several
  // groups).
  static Status create(const WorkersOptions& options, std::unique_ptr<Workers>* out);
  // Stops and joins the threads (after the current job).
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  int size() const { return static_cast<int>(contexts_.size()); }
  // This process's groups; global_groups(): every process's.
  int num_groups() const { return size() / group_size_; }
  int global_groups() const { return num_groups() * processes_; }
  int processes() const { return processes_; }
  // The first of this process's groups in the global numbering.
  int first_group() const { return first_group_; }
  Cluster* cluster() const { return cluster_; }
  int group_size() const { return group_size_; }
  int worker_index(int group, int rank) const { return group * group_size_ + rank; }
  WorkerContext& ctx(int worker) const { return *contexts_[worker]; }
  TransferHub& hub(int group) const { return *hubs_[group]; }
  // The AllReduce among the workers of rank `rank` (participant = group
  // index); null with one group.
  AllReduce* exchange(int rank) const;
  // For NetBuildOptions::data_setup_mutex while the workers build nets.
  std::mutex* data_setup_mutex() { return &data_setup_mutex_; }
  // "worker 3 (cpu, group 1, rank 1)".
  std::string describe(int worker) const;

  // Runs fn(worker) on every worker's thread at once and waits for all.  The
  // first error (other than a peer's Aborted) aborts the run for everyone
  // and is returned, prefixed with the failing worker; once failed, every
  // later call returns that error without running anything.  Call from one
  // thread at a time (not from a worker).
  Status run(const std::function<Status(int worker)>& fn);
  // Called by every worker of `worker`'s group from its own thread (a
  // barrier): replaces *value with the sum over the group's workers, added
  // in rank order, the same on every rank.  Aborted after an abort.
  Status group_sum(int worker, double* value);
  // Aborts every hub, exchange and group_sum with `reason`; thread-safe.
  // With several processes it ends the whole job (Cluster::abort), since a
  // peer process may be waiting in a collective.
  void abort(const std::string& reason);
  // Waits for all work on every worker's GPU, ignoring errors: before
  // freeing buffers that another GPU may still be reading (a peer copy
  // queued there).  No-op for CPU workers.  Called by the destructor too.
  void synchronize_devices() const;
  bool failed() const;

 private:
  Workers() = default;
  void loop(int worker);

  // The barrier behind group_sum, one per group.
  struct GroupSum {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<double> values;
    double sum = 0.0;
    int arrived = 0, leaving = 0;
    uint64_t generation = 0;
    bool aborted = false;
    std::string reason;
  };

  int group_size_ = 1;
  int processes_ = 1, first_group_ = 0;
  Cluster* cluster_ = nullptr;
  std::vector<std::unique_ptr<GroupSum>> group_sums_;
  std::vector<std::unique_ptr<WorkerContext>> contexts_;
  std::vector<std::unique_ptr<TransferHub>> hubs_;
  std::vector<std::unique_ptr<AllReduce>> exchanges_;
  std::vector<std::thread> threads_;

  std::mutex data_setup_mutex_;
  mutable std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<Status(int)>* job_ = nullptr;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
  std::vector<Status> statuses_;
  Status failure_;  // the first failure, sticky
  bool abort_called_ = false;
};

}  // namespace banyan
