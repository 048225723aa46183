// Topology: how every pair of devices is connected (DESIGN §5), with the link
// levels and names of `nvidia-smi topo -m`, read from such a file (tests,
// what-if studies) or probed on this machine (topology_probe.h).  The CPU
// counts as one device: cpu<->cpu is SAME and cpu<->GPU is PHB (host memory
// is reached through the GPU's root port and host bridge, as PHB is).
#pragma once

#include <string>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/status.h"

namespace banyan {

// Ordered closest first.
enum class LinkLevel {
  kSame,  // the same physical device (a repeated GPU id, or the CPU twice)
  kNvLink,
  kPix,   // at most one PCIe switch between them
  kPxb,   // several PCIe bridges, not through the host bridge
  kPhb,   // through a PCIe host bridge (the CPU's root complex)
  kNode,  // across host bridges within one NUMA node
  kSys,   // across NUMA nodes (the sockets' interconnect)
};

struct Link {
  LinkLevel level = LinkLevel::kSys;
  int nvlinks = 0;  // kNvLink only: number of links (NV4 -> 4)

  // Smaller is closer; NVLink pairs with more links are closer.
  int distance() const;
  bool operator==(const Link& o) const { return level == o.level && nvlinks == o.nvlinks; }
  bool operator!=(const Link& o) const { return !(*this == o); }
};

// "X" is not a link name; these are nvidia-smi's: SAME, NV<n>, PIX, PXB, PHB,
// NODE, SYS.
std::string link_name(const Link& link);
// Accepts nvidia-smi's names (and its older SOC for SYS); false otherwise.
bool parse_link_name(const std::string& token, Link* out);

// Pairwise links between n participants: at(i, j) == at(j, i), at(i, i) SAME.
class LinkMatrix {
 public:
  LinkMatrix() = default;
  explicit LinkMatrix(int n);
  int size() const { return n_; }
  const Link& at(int i, int j) const;
  // Sets both (i, j) and (j, i).
  void set(int i, int j, const Link& link);

 private:
  int n_ = 0;
  std::vector<Link> links_;
};

// The links between the physical GPUs of one machine (GPU ordinals 0..n-1).
class Topology {
 public:
  Topology() = default;  // no GPUs: only the CPU
  explicit Topology(LinkMatrix gpu_links) : gpus_(std::move(gpu_links)) {}

  // Parses the text `nvidia-smi topo -m` prints: a header row naming GPU0..
  // GPUn-1 (NIC columns and "CPU Affinity"/"NUMA Affinity"/"GPU NUMA ID"
  // columns are ignored), one row per GPU ("GPU0  X  NV4  PIX ..."), NIC rows,
  // blank lines and the legend ignored.  `source` names the text in errors,
  // which read "<source>:<line>: ... '<token>'".
  static Status parse(const std::string& text, const std::string& source, Topology* out);
  static Status read_file(const std::string& path, Topology* out);

  int num_gpus() const { return gpus_.size(); }
  const LinkMatrix& gpu_links() const { return gpus_; }

  // The link between two devices (see the file comment for the CPU);
  // InvalidArgument naming the GPU when it is not in this topology.
  Status link(const Device& a, const Device& b, Link* out) const;
  // Participant i's row/column is participants[i]; repeated ids are SAME.
  Status participant_links(const std::vector<Device>& participants, LinkMatrix* out) const;

 private:
  LinkMatrix gpus_;
};

// The matrix in nvidia-smi's layout (tab-separated, a header row, "X" on the
// diagonal), one row and column per label; labels.size() == links.size().
std::string format_link_matrix(const std::vector<std::string>& labels, const LinkMatrix& links);
// Labels "<rank>:<device>" (e.g. "0:cuda:3", "1:cpu") for participants.
std::vector<std::string> participant_labels(const std::vector<Device>& participants);
// The machine's GPU matrix labelled GPU0..GPUn-1, which Topology::parse reads back.
std::string format_topology(const Topology& topology);

// The legend printed under the matrix.
std::string link_legend();

}  // namespace banyan
