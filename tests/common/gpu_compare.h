// GPU-against-CPU check for one layer (the house rule: every backend checked
// against the CPU on random inputs).  Two instances of the layer are built
// from the same config, one set up on the CPU and one on cuda:0, given the
// same bottoms, parameters and top gradients; tops, bottom gradients and
// parameter gradients must agree within a relative tolerance.  GPU outputs
// are poisoned with NaN before each kernel runs.  Callers skip with
// BANYAN_SKIP_WITHOUT_GPU (always, in builds without CUDA).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/shape.h"
#include "layers/layer.h"

namespace banyan::testing {

// True when a CUDA device can be used; otherwise *why says why not.  Tests
// skip with BANYAN_SKIP_WITHOUT_GPU (tests/common/gpu_skip.h), which honours
// BANYAN_REQUIRE_GPU=1.
bool gpu_available(std::string* why);

struct GpuCompareOptions {
  // |gpu - cpu| <= rel_tol * max(|cpu|, 1) + abs_tol per element.  FP32
  // comparisons use ~1e-5 (TF32 is turned off for them), BF16 ~1e-2.
  float rel_tol = 1e-5f;
  float abs_tol = 1e-6f;
  bool check_backward = true;
  // Which bottoms get gradients (all, when empty); labels must be false.
  std::vector<bool> propagate_down;
  // Called on the CPU bottoms after the random fill (e.g. to write labels).
  std::function<void(const std::vector<Blob*>&)> prepare_bottoms;
  // For layers whose backward sums terms much larger than the result (LRN
  // with a tiny k subtracts terms of ~1e3 to get values of ~1): given the
  // CPU bottoms and tops (data and diffs, after backward), the magnitude of
  // the terms behind each element of bottom 0's gradient, e.g. the sum of
  // their absolute values.  Float rounding errors scale with that, so the
  // tolerance there becomes rel_tol * max(|cpu|, magnitude, 1) + abs_tol.
  std::function<std::vector<double>(const std::vector<Blob*>& bottom,
                                    const std::vector<Blob*>& top)>
      bottom_diff_magnitude;
  // Iteration / sample base of the step (keys dropout masks).
  int64_t iteration = 3;
  uint64_t seed = 11;
};

// Runs the comparison with layers made by `make` (each call returns a fresh,
// not yet set up layer of the same config).  Reports through gtest.
void compare_gpu_to_cpu(const std::function<std::unique_ptr<Layer>()>& make,
                        const std::vector<Shape>& bottom_shapes, int num_tops,
                        const GpuCompareOptions& options = {});

}  // namespace banyan::testing
