// Helpers shared by the layer tests: a harness that sets a layer up with
// owned storage, random fills, and the finite-difference gradient checker
// (Caffe's recipe: objective = sum_i w_i * top_i with fixed random w, central
// differences in float, tolerance relative to max(|analytic|, |numeric|, 1)).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/core/context.h"
#include "engine/core/tensor.h"
#include "layers/layer.h"

namespace banyan::testing {

// Fills `n` floats with N(mean, std) from a counter-based stream keyed by `seed`.
void fill_gaussian(float* x, int64_t n, uint64_t seed, float mean = 0.0f, float std = 1.0f);
// Fills with U[lo, hi).
void fill_uniform(float* x, int64_t n, uint64_t seed, float lo, float hi);

// Owns the blobs and workspace of one layer under test on the CPU.
class LayerHarness {
 public:
  // Creates `num_bottoms` blobs with the given shapes (filled with N(0,1)
  // keyed by `seed`) and `num_tops` empty blobs.
  LayerHarness(std::vector<Shape> bottom_shapes, int num_tops, uint64_t seed = 1);

  // Calls layer.Setup, allocates tops, params (filled N(0, 1) or by the
  // caller afterwards) and the workspace.  Returns the Setup status.
  Status setup(Layer& layer);

  std::vector<Blob*>& bottom() { return bottom_ptrs_; }
  std::vector<Blob*>& top() { return top_ptrs_; }
  WorkerContext& ctx() { return ctx_; }

 private:
  std::vector<std::unique_ptr<Blob>> bottoms_, tops_;
  std::vector<Blob*> bottom_ptrs_, top_ptrs_;
  std::vector<float> workspace_;
  WorkerContext ctx_;
  uint64_t seed_;
};

struct GradientCheckOptions {
  float step = 1e-2f;
  float threshold = 1e-2f;
  // Elements whose |value| is within kink_range of kink are skipped (ReLU at 0).
  float kink = 0.0f;
  float kink_range = -1.0f;
  // At most this many elements per blob are checked (evenly spaced); <= 0: all.
  int max_checks_per_blob = 0;
  bool check_params = true;
  uint64_t seed = 1234;
};

// Checks d(objective)/d(bottom[i]) for each i with check_bottom[i] (all when
// empty) and d(objective)/d(param) for every parameter.  The layer must be set
// up (LayerHarness::Setup); top and bottom blobs must be distinct.  Reports
// failures through gtest with the blob, element index and both values.
void check_gradients(Layer& layer, LayerHarness& h, const GradientCheckOptions& options = {},
                     std::vector<bool> check_bottom = {});

// Runs backward twice without clearing: parameter gradients must double,
// bottom gradients must stay the same (they overwrite).
void check_accumulates_twice(Layer& layer, LayerHarness& h, float rel_tol = 1e-5f);

// For a one-bottom, one-top layer that allows running in place: forward and
// backward (dy from a fixed seed) on one blob of `shape` in place must give
// bitwise the outputs, input gradients and parameter gradients (from the
// same parameters) of a separate-top run.  `make` returns a fresh, not yet
// set up layer of the same config.
void check_in_place_matches(const std::function<std::unique_ptr<Layer>()>& make,
                            const Shape& shape);

}  // namespace banyan::testing
