// Fuzz target: topology files (`nvidia-smi topo -m` text) and the link
// queries the exchange tree makes of a parsed matrix.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/exchange/topology.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  banyan::Topology topology;
  if (!banyan::Topology::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz.txt",
                               &topology)
           .ok()) {
    return 0;
  }
  (void)banyan::format_topology(topology);
  return 0;
}
