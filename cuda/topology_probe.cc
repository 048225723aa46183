// CUDA runtime and (dlopen'ed) NVML queries for the topology.  NVML is
// declared here with only the types and entry points used, as its ABI
// defines them, so the build needs neither nvml.h nor libnvidia-ml.
#include "cuda/topology_probe.h"

#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "cuda/check.h"

namespace banyan::cuda {
namespace {

// NVML's ABI (nvml.h): return codes are ints, 0 is success.
using NvmlDevice = struct NvmlDeviceOpaque*;
struct NvmlPciInfo {
  char bus_id_legacy[16];
  unsigned int domain, bus, device, pci_device_id, pci_subsystem_id;
  char bus_id[32];
};
constexpr int kNvmlFeatureEnabled = 1;
constexpr unsigned kMaxNvLinks = 64;  // above every NVML_NVLINK_MAX_LINKS so far

struct Nvml {
  void* lib = nullptr;
  int (*init)() = nullptr;
  int (*shutdown)() = nullptr;
  int (*handle_by_bus_id)(const char*, NvmlDevice*) = nullptr;
  int (*link_state)(NvmlDevice, unsigned, int*) = nullptr;
  int (*remote_pci)(NvmlDevice, unsigned, NvmlPciInfo*) = nullptr;

  ~Nvml() {
    if (shutdown != nullptr) shutdown();
    if (lib != nullptr) dlclose(lib);
  }
  bool load(std::string* error) {
    lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) return *error = "libnvidia-ml.so.1 cannot be loaded", false;
    init = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlInit_v2"));
    auto* stop = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlShutdown"));
    handle_by_bus_id = reinterpret_cast<int (*)(const char*, NvmlDevice*)>(
        dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2"));
    link_state = reinterpret_cast<int (*)(NvmlDevice, unsigned, int*)>(
        dlsym(lib, "nvmlDeviceGetNvLinkState"));
    remote_pci = reinterpret_cast<int (*)(NvmlDevice, unsigned, NvmlPciInfo*)>(
        dlsym(lib, "nvmlDeviceGetNvLinkRemotePciInfo_v2"));
    if (!init || !stop || !handle_by_bus_id || !link_state || !remote_pci) {
      return *error = "libnvidia-ml.so.1 lacks the NVLink queries", false;
    }
    if (init() != 0) return *error = "nvmlInit failed", false;
    shutdown = stop;
    return true;
  }
};

// (domain, bus, device) of "0000:3B:00.0"; the function is ignored, as
// NVLink remotes name the GPU's function 0.
bool parse_bus_id(const std::string& id, unsigned* domain, unsigned* bus, unsigned* device) {
  return std::sscanf(id.c_str(), "%x:%x:%x", domain, bus, device) == 3;
}

void count_nvlinks(Nvml& nvml, GpuLinkProbe* out) {
  const int n = out->pci_bus_ids.size();
  std::vector<int> switch_links(n, 0);
  out->nvlinks.assign(n, std::vector<int>(n, 0));
  for (int i = 0; i < n; ++i) {
    NvmlDevice dev = nullptr;
    if (nvml.handle_by_bus_id(out->pci_bus_ids[i].c_str(), &dev) != 0) continue;
    for (unsigned link = 0; link < kMaxNvLinks; ++link) {
      int active = 0;
      NvmlPciInfo remote{};
      if (nvml.link_state(dev, link, &active) != 0 || active != kNvmlFeatureEnabled) continue;
      if (nvml.remote_pci(dev, link, &remote) != 0) continue;
      int peer = -1;
      for (int j = 0; j < n && peer < 0; ++j) {
        unsigned d, b, v;
        if (j != i && parse_bus_id(out->pci_bus_ids[j], &d, &b, &v) && d == remote.domain &&
            b == remote.bus && v == remote.device) {
          peer = j;
        }
      }
      if (peer >= 0) {
        ++out->nvlinks[i][peer];
      } else {
        ++switch_links[i];
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      if (i != j && switch_links[i] > 0 && switch_links[j] > 0) {
        out->nvlinks[i][j] += std::min(switch_links[i], switch_links[j]);
      }
    }
  }
}

}  // namespace

bool probe_gpu_links(GpuLinkProbe* out, std::string* error) {
  *out = GpuLinkProbe();
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // no driver or no GPU: an empty machine, not an error
    return true;
  }
  out->peer_access.assign(n, std::vector<bool>(n, false));
  out->performance_rank.assign(n, std::vector<int>(n, -1));
  for (int i = 0; i < n; ++i) {
    char bus[32] = {0};
    *error = BANYAN_CUDA_ERROR(cudaDeviceGetPCIBusId(bus, sizeof(bus), i));
    if (!error->empty()) return false;
    out->pci_bus_ids.push_back(bus);
  }
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      if (i == j) continue;
      int access = 0, rank = -1;
      *error = BANYAN_CUDA_ERROR(cudaDeviceCanAccessPeer(&access, i, j));
      if (!error->empty()) return false;
      out->peer_access[i][j] = access != 0;
      if (access != 0) {
        *error = BANYAN_CUDA_ERROR(
            cudaDeviceGetP2PAttribute(&rank, cudaDevP2PAttrPerformanceRank, i, j));
        if (!error->empty()) return false;
      }
      out->performance_rank[i][j] = rank;
    }
  }
  Nvml nvml;
  if (n > 1 && nvml.load(&out->nvml_error)) count_nvlinks(nvml, out);
  return true;
}

}  // namespace banyan::cuda
