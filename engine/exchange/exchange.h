// Choosing and building the all-reduce for one set of participants
// (--exchange=auto|tree|nccl, DESIGN §5).  auto takes NCCL when every
// participant is a distinct physical GPU and NCCL is built, else the tree.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/status.h"
#include "engine/exchange/all_reduce.h"
#include "engine/exchange/cluster.h"
#include "engine/exchange/topology.h"

namespace banyan {

enum class ExchangeBackend { kAuto, kTree, kNccl };

// "auto", "tree" or "nccl"; InvalidArgument naming the value otherwise.
Status parse_exchange_backend(const std::string& text, ExchangeBackend* out);
const char* exchange_backend_name(ExchangeBackend backend);

struct ExchangeOptions {
  size_t chunk_bytes = size_t{1} << 20;  // tree backends' pipelining unit
};

// Builds the all-reduce for `participants` (rank i on participants[i]);
// `topology` must hold every GPU named.  Errors: InvalidArgument for nccl
// with CPU participants or a repeated GPU, or a GPU outside the topology;
// Unimplemented for CPU and GPU participants mixed, and for GPU participants
// in builds without CUDA.  NCCL initialisation failures come back as Internal.
Status make_all_reduce(ExchangeBackend backend, const std::vector<Device>& participants,
                       const Topology& topology, std::unique_ptr<AllReduce>* out);
Status make_all_reduce(ExchangeBackend backend, const std::vector<Device>& participants,
                       const Topology& topology, const ExchangeOptions& options,
                       std::unique_ptr<AllReduce>* out);

// What `banyan devices` shows when no --devices are given: every GPU of the
// topology, or one CPU worker when it has none.
std::vector<Device> default_exchange_participants(const Topology& topology);

// The text `banyan devices` prints for an exchange: the participants' link
// matrix (nvidia-smi's layout) with its legend, the exchange tree on one
// line and indented, and the backend auto picks.  InvalidArgument for a GPU
// outside the topology.
Status describe_exchange(const std::vector<Device>& participants, const Topology& topology,
                         std::string* out);

// The backend `auto` resolves to for these participants, taken alone
// (resolve_layout_backends decides for a whole worker layout).
ExchangeBackend resolve_exchange_backend(ExchangeBackend backend,
                                         const std::vector<Device>& participants);

// The backend of every rank's exchange in one worker layout:
// rank_participants[k] lists the devices of rank k's exchange (one per
// group).  NCCL is safe for rank k only when its participants are distinct
// GPUs and none of those GPUs takes part in another rank's exchange: two
// communicators on one GPU, each driven from its own thread, can deadlock
// (their kernels wait for each other's peers).  `auto` takes NCCL (CUDA
// builds) for the ranks where it is safe and the tree elsewhere; `tree` the
// tree everywhere; `nccl` NCCL everywhere, or InvalidArgument naming the rank
// and what makes it unsafe (a CPU or repeated participant, a GPU shared
// with another rank's exchange).  Ranks with one participant exchange nothing
// and get the tree.
Status resolve_layout_backends(ExchangeBackend requested,
                               const std::vector<std::vector<Device>>& rank_participants,
                               std::vector<ExchangeBackend>* out);
// The same for a layout repeated in each of `processes` processes (one per
// node under mpirun), rank_participants being this process's.  With one
// process it is the call above.  With several, CPU ranks get the tree inside
// the process (then MPI across, HierarchicalAllReduce) and GPU ranks get
// NCCL, whose one communicator spans the rank's workers on every process
// (even a single local one): `auto` and `nccl` need NCCL to be safe for the
// rank as above, else InvalidArgument naming the rank and why; `tree` with
// GPU workers is InvalidArgument (the tree runs inside one process).
Status resolve_layout_backends(ExchangeBackend requested,
                               const std::vector<std::vector<Device>>& rank_participants,
                               int processes, std::vector<ExchangeBackend>* out);

// This process's share of the NCCL exchange over `participants` (distinct
// GPUs) and their counterparts on every process: see
// NcclAllReduce::create_across.  Unimplemented in builds without CUDA.
Status make_process_nccl_all_reduce(const std::vector<Device>& participants, ProcessComm* comm,
                                    int process_rank, int processes, WirePrecision wire,
                                    std::unique_ptr<AllReduce>* out);

}  // namespace banyan
