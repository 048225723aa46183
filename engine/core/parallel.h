// parallel_for: the CPU layers' one way to use several threads.  [0, n)
// is cut into one contiguous range per thread of the calling thread's
// OpenMP team size (use_cpu_threads), range edges on multiples of `align`
// items (pass 16 for floats written in place: 64-byte cache lines, no
// false sharing).  Each item is handled by exactly one thread in a fixed
// order, so results never depend on the thread count unless the body
// itself reduces across items.  Small loops stay on the calling thread.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace banyan {

// Below this much work (items times the caller's cost per item, roughly
// in floats touched) one thread is faster than waking the team.
constexpr int64_t kParallelMinWork = 32768;

template <typename Body>
void parallel_for(int64_t n, int64_t work_per_item, int64_t align, Body&& body) {
  const int max_threads = omp_get_max_threads();
  if (n <= 0) return;
  if (max_threads <= 1 || n * work_per_item < kParallelMinWork || n <= align) {
    body(int64_t{0}, n);
    return;
  }
  const int64_t units = (n + align - 1) / align;
  const int threads = static_cast<int>(std::min<int64_t>(max_threads, units));
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int team = omp_get_num_threads();
    const int64_t begin = std::min(n, units * t / team * align);
    const int64_t end = std::min(n, units * (t + 1) / team * align);
    if (begin < end) body(begin, end);
  }
}

}  // namespace banyan
