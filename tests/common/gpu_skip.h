// How GPU tests decide to run: on a machine without a usable GPU (CPU-only
// CI) they skip, naming the CUDA error; with BANYAN_REQUIRE_GPU=1 in the
// environment (scripts/gpu_session.sh sets it) the same condition is a test
// failure, so a GPU check cannot pass by skipping everything.  Tests that
// need more GPUs than the host has still skip under it (their names show
// in the JUnit output).
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace banyan::testing {

// True when BANYAN_REQUIRE_GPU=1 is set.
bool gpu_required();

// "" when cuda:0 can host a worker (device, streams, cuDNN and cuBLAS
// handles); otherwise why not: the CUDA runtime's error name and text, or
// that the build has no CUDA backend.  Probed once per process.
std::string gpu_unavailable_reason();

// Usable CUDA devices (0 when gpu_unavailable_reason() is not empty).
int usable_gpu_count();

}  // namespace banyan::testing

// In a test body or SetUp: skip (or, under BANYAN_REQUIRE_GPU=1, fail)
// unless cuda:0 is usable.
#define BANYAN_SKIP_WITHOUT_GPU()                                                    \
  do {                                                                               \
    const std::string banyan_gpu_why_ = ::banyan::testing::gpu_unavailable_reason(); \
    if (!banyan_gpu_why_.empty()) {                                                  \
      if (::banyan::testing::gpu_required()) {                                       \
        FAIL() << "BANYAN_REQUIRE_GPU=1 but no usable GPU: " << banyan_gpu_why_;     \
      }                                                                              \
      GTEST_SKIP() << banyan_gpu_why_;                                               \
    }                                                                                \
  } while (0)

// As above, then skips (even under BANYAN_REQUIRE_GPU=1) unless the host has
// at least `n` GPUs: a multi-GPU-only test.
#define BANYAN_SKIP_WITHOUT_GPUS(n)                                              \
  do {                                                                           \
    BANYAN_SKIP_WITHOUT_GPU();                                                   \
    if (::banyan::testing::usable_gpu_count() < (n)) {                           \
      GTEST_SKIP() << "multi-GPU test: needs " << (n) << " GPUs, this host has " \
                   << ::banyan::testing::usable_gpu_count();                     \
    }                                                                            \
  } while (0)
