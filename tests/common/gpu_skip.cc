// The GPU probe behind BANYAN_SKIP_WITHOUT_GPU; see gpu_skip.h.
#include "tests/common/gpu_skip.h"

#include <cstdlib>
#include <mutex>

#include "engine/core/context.h"
#ifdef BANYAN_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace banyan::testing {
namespace {

struct Probe {
  std::string why;
  int count = 0;
};

Probe run_probe() {
  Probe p;
#ifdef BANYAN_WITH_CUDA
  const cudaError_t e = cudaGetDeviceCount(&p.count);
  if (e != cudaSuccess) {
    p.why = std::string("cudaGetDeviceCount: ") + cudaGetErrorName(e) + " (" +
            cudaGetErrorString(e) + ")";
    cudaGetLastError();
    p.count = 0;
    return p;
  }
  if (p.count == 0) {
    p.why = "cudaGetDeviceCount reports no CUDA device";
    return p;
  }
  WorkerContext ctx(Device::cuda(0), 1);
  const Status s = ctx.init_device();
  if (!s.ok()) {
    p.why = "cannot set up a worker on cuda:0: " + s.message();
    p.count = 0;
  }
#else
  p.why = "this build has no CUDA backend";
#endif
  return p;
}

const Probe& probe() {
  static std::once_flag once;
  static Probe p;
  std::call_once(once, [] { p = run_probe(); });
  return p;
}

}  // namespace

bool gpu_required() {
  const char* v = std::getenv("BANYAN_REQUIRE_GPU");
  return v != nullptr && std::string(v) == "1";
}

std::string gpu_unavailable_reason() { return probe().why; }

int usable_gpu_count() { return probe().count; }

}  // namespace banyan::testing
