// CPU workers' settings: how many threads each uses and which
// implementation the layers take.  One OpenMP pool serves both the
// hand-written loops and oneDNN (which is built on OpenMP), so one number
// controls a CPU worker's compute; several CPU workers of a process split
// the threads among them (engine/workers.cc).
#pragma once

#include <string>

#include "engine/core/status.h"

namespace banyan {

enum class CpuBackend {
  // oneDNN where it was measured faster (convolutions, inner products),
  // threaded hand-written loops elsewhere (docs/cpu-backend.md).
  kDefault,
  // The single-threaded BLAS/im2col code the others are checked against.
  kReference,
};

struct CpuOptions {
  // Compute threads of one CPU worker; 0: default_cpu_threads() (for a
  // WorkerContext) or 1 (a layer set up outside a Net, as in tests).
  int threads = 0;
  CpuBackend backend = CpuBackend::kDefault;
};

// The thread count when none is given: BANYAN_CPU_THREADS when set (a
// positive integer; anything else is ignored with a warning), else the
// cores this process may run on (its CPU affinity mask).
int default_cpu_threads();

// Makes the calling thread's OpenMP parallel regions, and so oneDNN's and
// the layers' loops, use `threads` (>= 1).  Cheap when nothing changes.
void use_cpu_threads(int threads);

// "default" or "reference" (the --cpu_backend flag).
Status parse_cpu_backend(const std::string& text, CpuBackend* out);
const char* cpu_backend_name(CpuBackend backend);

}  // namespace banyan
