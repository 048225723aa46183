// CPU thread control: the process's usable cores, BANYAN_CPU_THREADS, and
// the calling thread's OpenMP team size.
#include "engine/core/cpu_threads.h"

#include <glog/logging.h>
#include <omp.h>
#include <sched.h>

#include <cstdlib>
#include <thread>

namespace banyan {

int default_cpu_threads() {
  if (const char* env = std::getenv("BANYAN_CPU_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 4096) return static_cast<int>(v);
    LOG(WARNING) << "BANYAN_CPU_THREADS='" << env
                 << "' is not a positive integer; using the available cores";
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

void use_cpu_threads(int threads) {
  CHECK_GE(threads, 1);
  if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
}

Status parse_cpu_backend(const std::string& text, CpuBackend* out) {
  if (text == "default") {
    *out = CpuBackend::kDefault;
  } else if (text == "reference") {
    *out = CpuBackend::kReference;
  } else {
    return Status::invalid_argument("--cpu_backend must be 'default' or 'reference', got '" + text +
                                    "'");
  }
  return Status::success();
}

const char* cpu_backend_name(CpuBackend backend) {
  return backend == CpuBackend::kReference ? "reference" : "default";
}

}  // namespace banyan
