// Backend choice and construction for the gradient exchange.
#include "engine/exchange/exchange.h"

#include <algorithm>
#include <map>
#include <set>

#include "engine/exchange/tree.h"
#include "engine/exchange/tree_all_reduce.h"
#ifdef BANYAN_WITH_CUDA
#include "engine/exchange/gpu_tree_all_reduce.h"
#include "engine/exchange/nccl_all_reduce.h"
#endif

namespace banyan {
namespace {

bool all_distinct_gpus(const std::vector<Device>& participants) {
  std::set<int> ids;
  for (const Device& d : participants) {
    if (!d.is_cuda() || !ids.insert(d.id).second) return false;
  }
  return true;
}

std::string device_list(const std::vector<Device>& participants) {
  std::string out;
  for (const Device& d : participants) out += (out.empty() ? "" : ",") + d.to_string();
  return out;
}

}  // namespace

Status parse_exchange_backend(const std::string& text, ExchangeBackend* out) {
  if (text == "auto") {
    *out = ExchangeBackend::kAuto;
  } else if (text == "tree") {
    *out = ExchangeBackend::kTree;
  } else if (text == "nccl") {
    *out = ExchangeBackend::kNccl;
  } else {
    return Status::invalid_argument("--exchange: '" + text + "' is not auto, tree or nccl");
  }
  return Status::success();
}

const char* exchange_backend_name(ExchangeBackend backend) {
  switch (backend) {
    case ExchangeBackend::kAuto:
      return "auto";
    case ExchangeBackend::kTree:
      return "tree";
    case ExchangeBackend::kNccl:
      return "nccl";
  }
  return "?";
}

ExchangeBackend resolve_exchange_backend(ExchangeBackend backend,
                                         const std::vector<Device>& participants) {
  if (backend != ExchangeBackend::kAuto) return backend;
#ifdef BANYAN_WITH_CUDA
  if (participants.size() > 1 && all_distinct_gpus(participants)) return ExchangeBackend::kNccl;
#endif
  return ExchangeBackend::kTree;
}

Status resolve_layout_backends(ExchangeBackend requested,
                               const std::vector<std::vector<Device>>& rank_participants,
                               std::vector<ExchangeBackend>* out) {
  return resolve_layout_backends(requested, rank_participants, 1, out);
}

Status resolve_layout_backends(ExchangeBackend requested,
                               const std::vector<std::vector<Device>>& rank_participants,
                               int processes, std::vector<ExchangeBackend>* out) {
  const size_t ranks = rank_participants.size();
  // Which ranks' exchanges use each GPU.
  std::map<int, std::set<size_t>> users;
  for (size_t k = 0; k < ranks; ++k) {
    for (const Device& d : rank_participants[k]) {
      if (d.is_cuda()) users[d.id].insert(k);
    }
  }
  std::vector<ExchangeBackend> backends(ranks, ExchangeBackend::kTree);
  for (size_t k = 0; k < ranks; ++k) {
    const std::vector<Device>& p = rank_participants[k];
    const bool gpus = std::any_of(p.begin(), p.end(), [](const Device& d) { return d.is_cuda(); });
    // Across processes GPU workers have no other backend than NCCL.
    const bool must_nccl = processes > 1 && gpus;
    if (must_nccl && requested == ExchangeBackend::kTree) {
      return Status::invalid_argument(
          "--exchange=tree: the exchange of rank " + std::to_string(k) + " over " + device_list(p) +
          " spans " + std::to_string(processes) +
          " processes, and GPU workers exchange across processes through NCCL only (the tree "
          "runs inside one process); use --exchange=auto or --exchange=nccl");
    }
    if (!must_nccl && (p.size() < 2 || requested == ExchangeBackend::kTree)) continue;
    std::string unsafe;
    if (!all_distinct_gpus(p)) {
      unsafe =
          "NCCL needs distinct physical GPUs (use --exchange=tree for CPU workers or "
          "repeated GPU ids)";
    }
    for (const Device& d : p) {
      if (!unsafe.empty() || !d.is_cuda()) continue;
      for (size_t other : users[d.id]) {
        if (other == k) continue;
        unsafe = d.to_string() + " also takes part in the exchange of rank " +
                 std::to_string(other) + " (" + device_list(rank_participants[other]) +
                 "); two NCCL communicators on one GPU, driven from different threads, can "
                 "deadlock. Use --exchange=tree, or a layout where each GPU holds one partition";
        break;
      }
    }
#ifndef BANYAN_WITH_CUDA
    if (unsafe.empty()) unsafe = "NCCL needs a build with CUDA";
#endif
    if (unsafe.empty()) {
      backends[k] = ExchangeBackend::kNccl;
    } else if (must_nccl) {
      return Status::invalid_argument(
          "the exchange of rank " + std::to_string(k) + " over " + device_list(p) + " spans " +
          std::to_string(processes) +
          " processes, where GPU workers exchange through NCCL, which cannot be used here: " +
          unsafe);
    } else if (requested == ExchangeBackend::kNccl) {
      return Status::invalid_argument("--exchange=nccl: the exchange of rank " + std::to_string(k) +
                                      " over " + device_list(p) + " cannot use NCCL: " + unsafe);
    }
  }
  *out = std::move(backends);
  return Status::success();
}

Status make_process_nccl_all_reduce(const std::vector<Device>& participants, ProcessComm* comm,
                                    int process_rank, int processes, WirePrecision wire,
                                    std::unique_ptr<AllReduce>* out) {
  const std::string where = "exchange over " + device_list(participants) + " and " +
                            std::to_string(processes - 1) + " other process(es)";
  if (participants.empty() || !all_distinct_gpus(participants)) {
    return Status::invalid_argument(where + ": NCCL needs distinct physical GPUs");
  }
#ifdef BANYAN_WITH_CUDA
  std::vector<int> ids;
  for (const Device& d : participants) ids.push_back(d.id);
  return NcclAllReduce::create_across(ids, comm, process_rank, processes, wire, out)
      .with_context(where);
#else
  (void)comm;
  (void)process_rank;
  (void)wire;
  (void)out;
  return Status::unimplemented(where + ": NCCL needs a build with CUDA");
#endif
}

Status make_all_reduce(ExchangeBackend backend, const std::vector<Device>& participants,
                       const Topology& topology, std::unique_ptr<AllReduce>* out) {
  return make_all_reduce(backend, participants, topology, ExchangeOptions{}, out);
}

Status make_all_reduce(ExchangeBackend backend, const std::vector<Device>& participants,
                       const Topology& topology, const ExchangeOptions& options,
                       std::unique_ptr<AllReduce>* out) {
  const std::string where = "exchange over " + device_list(participants);
  if (participants.empty()) return Status::invalid_argument("exchange: no participants");
  if (options.chunk_bytes < sizeof(float)) {
    return Status::invalid_argument(where + ": chunk of " + std::to_string(options.chunk_bytes) +
                                    " bytes is smaller than one float");
  }
  size_t num_cpu = 0;
  for (const Device& d : participants) num_cpu += d.is_cpu() ? 1 : 0;
  if (num_cpu != 0 && num_cpu != participants.size()) {
    return Status::unimplemented(where + ": CPU and GPU participants cannot share an exchange");
  }
  backend = resolve_exchange_backend(backend, participants);
  if (backend == ExchangeBackend::kNccl && !all_distinct_gpus(participants)) {
    return Status::invalid_argument(
        where +
        ": nccl needs distinct physical GPUs (use --exchange=tree for the CPU or "
        "repeated GPU ids)");
  }
#ifndef BANYAN_WITH_CUDA
  if (num_cpu == 0) return Status::unimplemented(where + ": GPU exchange needs a build with CUDA");
#endif
  LinkMatrix links;
  BANYAN_RETURN_IF_ERROR(topology.participant_links(participants, &links).with_context(where));
#ifdef BANYAN_WITH_CUDA
  if (num_cpu == 0) {
    std::vector<int> devices;
    for (const Device& d : participants) devices.push_back(d.id);
    if (backend == ExchangeBackend::kNccl) {
      return NcclAllReduce::create(devices, out).with_context(where);
    }
    return GpuTreeAllReduce::create(ExchangeTree::build(links), devices, options.chunk_bytes, out)
        .with_context(where);
  }
#endif
  *out = std::make_unique<TreeAllReduce>(ExchangeTree::build(links), options.chunk_bytes);
  return Status::success();
}

std::vector<Device> default_exchange_participants(const Topology& topology) {
  std::vector<Device> out;
  for (int i = 0; i < topology.num_gpus(); ++i) out.push_back(Device::cuda(i));
  if (out.empty()) out.push_back(Device::cpu());
  return out;
}

Status describe_exchange(const std::vector<Device>& participants, const Topology& topology,
                         std::string* out) {
  if (participants.empty()) return Status::invalid_argument("exchange: no participants");
  LinkMatrix links;
  BANYAN_RETURN_IF_ERROR(topology.participant_links(participants, &links));
  const ExchangeTree tree = ExchangeTree::build(links);
  *out = "Links between the workers (rank:device):\n" +
         format_link_matrix(participant_labels(participants), links) + "\n" + link_legend() +
         "\nExchange tree (closest first; rank 0 is the root):\n  " + tree.to_string() + "\n" +
         tree.to_indented_string();
  size_t num_cpu = 0;
  for (const Device& d : participants) num_cpu += d.is_cpu() ? 1 : 0;
  if (num_cpu != 0 && num_cpu != participants.size()) {
    *out += "\nno exchange: CPU and GPU workers cannot share one\n";
  } else {
    *out += std::string("\n--exchange=auto uses: ") +
            exchange_backend_name(resolve_exchange_backend(ExchangeBackend::kAuto, participants)) +
            "\n";
  }
  return Status::success();
}

}  // namespace banyan
