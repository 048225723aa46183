// The raw facts behind the topology (engine/exchange/topology_probe.h
// interprets them): each GPU's PCI bus id, CUDA peer access and P2P
// performance rank per pair, and NVLink counts from NVML when
// libnvidia-ml.so.1 can be dlopen'ed (the engine does not link NVML).
#pragma once

#include <string>
#include <vector>

namespace banyan::cuda {

struct GpuLinkProbe {
  std::vector<std::string> pci_bus_ids;        // per ordinal, "0000:3B:00.0"
  std::vector<std::vector<bool>> peer_access;  // [i][j]: i can access j's memory
  std::vector<std::vector<int>>
      performance_rank;  // cudaDevP2PAttrPerformanceRank; -1 without access
  // [i][j]: active NVLinks of i whose remote end is j, plus, when both reach
  // an NVSwitch, the smaller of their switch link counts.  Empty without NVML.
  std::vector<std::vector<int>> nvlinks;
  std::string nvml_error;  // why nvlinks is empty
};

// Fills `out` for every visible GPU (none: empty, true).  False with
// `*error` when the CUDA runtime fails a query.
bool probe_gpu_links(GpuLinkProbe* out, std::string* error);

}  // namespace banyan::cuda
