// WorkerContext: device resources of CUDA workers (created on request, so
// CPU workers and CPU-only builds never touch the CUDA runtime).
#include "engine/core/context.h"

#include <glog/logging.h>

#ifdef BANYAN_WITH_CUDA
#include "engine/core/gpu_resources.h"
#endif

namespace banyan {

#ifndef BANYAN_WITH_CUDA
class GpuResources {};  // never created without CUDA; complete for unique_ptr
#endif

WorkerContext::WorkerContext(Device device, uint64_t seed, WorkerPlacement placement)
    : device_(device), seed_(seed), placement_(placement) {
  set_cpu_options(CpuOptions{});
}

void WorkerContext::set_cpu_options(const CpuOptions& options) {
  cpu_ = options;
  if (cpu_.threads <= 0) cpu_.threads = default_cpu_threads();
}

WorkerContext::~WorkerContext() = default;

Status WorkerContext::init_device(const GpuOptions& options) {
  if (device_.is_cpu()) return Status::success();
  CHECK(gpu_ == nullptr) << "init_device called twice for " << device_.to_string();
#ifdef BANYAN_WITH_CUDA
  BANYAN_RETURN_IF_ERROR(GpuResources::create(device_.id, options, &gpu_));
  // Kernels launch on the calling thread's current device: a worker's thread
  // works on its own device from here on.
  return gpu_->make_current();
#else
  (void)options;
  return Status::unimplemented(device_.to_string() +
                               ": this build has no CUDA backend (configure with the CUDA "
                               "toolkit installed)");
#endif
}

GpuResources& WorkerContext::gpu() const {
  CHECK(gpu_ != nullptr) << "worker on " << device_.to_string()
                         << " has no GPU resources (init_device not called?)";
  return *gpu_;
}

}  // namespace banyan
