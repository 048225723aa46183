// Discovering this machine's GPU topology (DESIGN §5).  PCIe placement comes
// from sysfs: the realpath of /sys/bus/pci/devices/<bus id> lists the chain
// of bridges from the root complex ("pci0000:00") down to the GPU, and
// .../numa_node says which NUMA node that root complex belongs to.  The
// rules (classify_pci) for two GPUs a and b:
//   - different root complexes: NODE on the same NUMA node (an unknown node,
//     -1, counts as node 0: single-socket machines report -1), else SYS;
//   - the same root complex but no bridge in common below it: PHB;
//   - otherwise, below their deepest common bridge each has at most one more
//     bridge (one switch: its upstream port in common, a downstream port
//     each): PIX; more bridges: PXB.
// NVLink overrides PCIe: counted with NVML when libnvidia-ml.so.1 can be
// loaded (links whose remote end is the other GPU, or an NVSwitch: then the
// smaller of the two GPUs' switch link counts); without NVML a pair with
// peer access and CUDA's best P2P performance rank (0), on a machine where
// some peer-capable pair ranks worse, is taken as NVLink of unknown width,
// shown as NV1.
#pragma once

#include <string>
#include <vector>

#include "engine/exchange/topology.h"

namespace banyan {

struct PciPlacement {
  std::string sysfs_path;  // realpath, e.g. /sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0
  int numa_node = -1;
};

// The PCIe link level between two devices (never SAME or NV<n>).
Link classify_pci(const PciPlacement& a, const PciPlacement& b);

// Reads the placement of PCI device `bus_id` ("0000:3b:00.0", any case)
// under `sysfs_root` (normally "/sys").  NotFound when the device is absent.
Status read_pci_placement(const std::string& sysfs_root, const std::string& bus_id,
                          PciPlacement* out);

// What the CUDA probe found, per GPU ordinal (see cuda/topology_probe.h).
struct GpuProbe {
  std::vector<std::string> pci_bus_ids;
  std::vector<std::vector<bool>> peer_access;
  std::vector<std::vector<int>> performance_rank;  // -1 without peer access
  std::vector<std::vector<int>> nvlinks;           // empty when NVML was not available
};

// The topology from a probe and the GPUs' placements (placements[i] for GPU i).
Topology topology_from_probe(const GpuProbe& probe, const std::vector<PciPlacement>& placements);

// Probes this machine: in CPU-only builds, or without GPUs, a topology with
// no GPUs.  `notes` (may be null) receives what could not be probed (no
// NVML, a GPU missing from sysfs), each a line.
Status probe_topology(Topology* out, std::string* notes);

}  // namespace banyan
