// sysfs placement rules and the machine probe (the CUDA/NVML queries live in
// cuda/topology_probe.cc; this file only interprets them).
#include "engine/exchange/topology_probe.h"

#include <cctype>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#ifdef BANYAN_WITH_CUDA
#include "cuda/topology_probe.h"
#endif

namespace banyan {
namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream in(path);
  std::string part;
  while (std::getline(in, part, '/')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// Index of the root complex ("pci0000:00") in `parts`; -1 when there is none.
int root_index(const std::vector<std::string>& parts) {
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].compare(0, 3, "pci") == 0 && parts[i].find(':') != std::string::npos) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// "0000:3B:00.0" or "00000000:3b:00.0" -> "0000:3b:00.0" (sysfs spelling).
std::string normalize_bus_id(const std::string& bus_id) {
  std::string lower;
  for (char c : bus_id) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t colon = lower.find(':');
  if (colon == std::string::npos || colon <= 4) return lower;
  char domain[16];
  std::snprintf(domain, sizeof(domain), "%04lx",
                std::strtoul(lower.substr(0, colon).c_str(), nullptr, 16));
  return domain + lower.substr(colon);
}

}  // namespace

Link classify_pci(const PciPlacement& a, const PciPlacement& b) {
  const std::vector<std::string> pa = split_path(a.sysfs_path), pb = split_path(b.sysfs_path);
  const int ra = root_index(pa), rb = root_index(pb);
  if (ra < 0 || rb < 0) return Link{LinkLevel::kSys, 0};
  if (pa[ra] != pb[rb]) {
    const bool same_node = std::max(a.numa_node, 0) == std::max(b.numa_node, 0);
    return Link{same_node ? LinkLevel::kNode : LinkLevel::kSys, 0};
  }
  // Bridges below the root complex, the devices themselves excluded.
  const std::vector<std::string> ba(pa.begin() + ra + 1, pa.end() - 1);
  const std::vector<std::string> bb(pb.begin() + rb + 1, pb.end() - 1);
  size_t common = 0;
  while (common < ba.size() && common < bb.size() && ba[common] == bb[common]) ++common;
  if (common == 0) return Link{LinkLevel::kPhb, 0};
  const bool one_switch = ba.size() - common <= 1 && bb.size() - common <= 1;
  return Link{one_switch ? LinkLevel::kPix : LinkLevel::kPxb, 0};
}

Status read_pci_placement(const std::string& sysfs_root, const std::string& bus_id,
                          PciPlacement* out) {
  const std::string link = sysfs_root + "/bus/pci/devices/" + normalize_bus_id(bus_id);
  char resolved[PATH_MAX];
  if (::realpath(link.c_str(), resolved) == nullptr) {
    return Status::not_found("PCI device " + bus_id + ": no " + link);
  }
  out->sysfs_path = resolved;
  out->numa_node = -1;
  std::ifstream numa(out->sysfs_path + "/numa_node");
  if (!(numa >> out->numa_node)) out->numa_node = -1;
  return Status::success();
}

Topology topology_from_probe(const GpuProbe& probe, const std::vector<PciPlacement>& placements) {
  const int n = probe.pci_bus_ids.size();
  bool ranks_differ = false;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      ranks_differ =
          ranks_differ || (i != j && probe.peer_access[i][j] && probe.performance_rank[i][j] > 0);
    }
  }
  LinkMatrix links(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < i; ++j) {
      Link link = classify_pci(placements[i], placements[j]);
      if (!probe.nvlinks.empty()) {
        const int count = std::max(probe.nvlinks[i][j], probe.nvlinks[j][i]);
        if (count > 0) link = Link{LinkLevel::kNvLink, count};
      } else if (ranks_differ && probe.peer_access[i][j] && probe.peer_access[j][i] &&
                 probe.performance_rank[i][j] == 0) {
        link = Link{LinkLevel::kNvLink, 1};
      }
      if (probe.pci_bus_ids[i] == probe.pci_bus_ids[j]) link = Link{LinkLevel::kSame, 0};
      links.set(i, j, link);
    }
  }
  return Topology(std::move(links));
}

Status probe_topology(Topology* out, std::string* notes) {
  std::string unused;
  std::string& note = notes != nullptr ? *notes : unused;
#ifdef BANYAN_WITH_CUDA
  cuda::GpuLinkProbe raw;
  std::string error;
  if (!cuda::probe_gpu_links(&raw, &error)) {
    note += "GPU probe failed: " + error + "\n";
    *out = Topology();
    return Status::success();
  }
  if (!raw.nvml_error.empty()) note += "no NVLink counts (" + raw.nvml_error + ")\n";
  GpuProbe probe{raw.pci_bus_ids, raw.peer_access, raw.performance_rank, raw.nvlinks};
  std::vector<PciPlacement> placements(raw.pci_bus_ids.size());
  for (size_t i = 0; i < placements.size(); ++i) {
    const Status s = read_pci_placement("/sys", raw.pci_bus_ids[i], &placements[i]);
    if (!s.ok()) note += "GPU" + std::to_string(i) + ": " + s.message() + " (taken as SYS)\n";
  }
  *out = topology_from_probe(probe, placements);
#else
  note += "CPU-only build: no GPUs probed\n";
  *out = Topology();
#endif
  return Status::success();
}

}  // namespace banyan
