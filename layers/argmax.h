// ArgMax layer (Caffe's): the indices (and optionally the values) of the
// top_k largest entries, per sample over its flattened dimensions or along
// one axis.  Ties go to the lower index (Caffe leaves them to its sort); a
// NaN counts as larger than any number.  Outputs are not differentiable.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// The layout of a selection, fixed at setup: `rows` independent rows of
// `dim` entries, entry j of row (o, r) at x[(o * dim + j) * inner + r],
// o < outer, r < inner.
struct ArgMaxGeometry {
  int64_t outer = 0, dim = 0, inner = 0;
  int64_t top_k = 1;
  bool has_axis = false;
  bool out_max_val = false;
};

#ifdef __CUDACC__
#define BANYAN_ARGMAX_HD __host__ __device__
#else
#define BANYAN_ARGMAX_HD
#endif

// Whether entry (a, ia) comes before (b, ib) in the selection order:
// larger values first, NaN above all, equal values by lower index.
BANYAN_ARGMAX_HD inline bool argmax_before(float a, int64_t ia, float b, int64_t ib) {
  const bool na = a != a, nb = b != b;
  if (na != nb) return na;
  if (!na && a != b) return a > b;
  return ia < ib;
}

// Selects row `row` (< outer * inner) of x and writes its top_k picks to y
// (the layer's top): the k-th pick is the first entry after the (k-1)-th
// in argmax_before's order, found by a scan of the row (top_k scans, no
// scratch).  The CPU loop and the GPU kernel both call it.
BANYAN_ARGMAX_HD inline void argmax_row(const ArgMaxGeometry& g, const float* x, float* y,
                                        int64_t row) {
  const int64_t o = row / g.inner, r = row - o * g.inner;
  const float* xr = x + o * g.dim * g.inner + r;  // entry j at xr[j * inner]
  float prev_v = 0.0f;
  int64_t prev_i = -1;
  for (int64_t k = 0; k < g.top_k; ++k) {
    int64_t best = -1;
    float best_v = 0.0f;
    for (int64_t j = 0; j < g.dim; ++j) {
      const float v = xr[j * g.inner];
      if (prev_i >= 0 && !argmax_before(prev_v, prev_i, v, j)) continue;
      if (best < 0 || argmax_before(v, j, best_v, best)) {
        best = j;
        best_v = v;
      }
    }
    prev_i = best;
    prev_v = best_v;
    const float index = static_cast<float>(best);
    if (g.has_axis) {
      y[(o * g.top_k + k) * g.inner + r] = g.out_max_val ? best_v : index;
    } else if (g.out_max_val) {  // (outer, 2, top_k): indices, then values
      y[2 * o * g.top_k + k] = index;
      y[2 * o * g.top_k + g.top_k + k] = best_v;
    } else {
      y[o * g.top_k + k] = index;
    }
  }
}

// Config: config.argmax.{out_max_val, top_k, axis}.  One bottom, one top.
// Without axis: a (N, ...) bottom gives a top of shape (N, 1, top_k), or
// (N, 2, top_k) with out_max_val (indices in channel 0, values in channel
// 1), padded with trailing 1s to the bottom's rank (Caffe's shape).  With
// axis: the bottom's shape with that axis set to top_k, holding indices,
// or values with out_max_val.  top_k may not exceed the entries per row.
// Indices are written as floats (exact below 2^24); the top is float32.
class ArgMaxLayer : public Layer {
 public:
  explicit ArgMaxLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
  bool can_propagate_down(int /*bottom_index*/) const override { return false; }
  DType top_dtype(int, const std::vector<Blob*>&, DType) const override { return DType::kFloat32; }
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif

 protected:
  void forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  // Nothing: no bottom takes a gradient.
  void backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;
#ifdef BANYAN_WITH_CUDA
  void forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;
#endif

 private:
  ArgMaxGeometry geo_;
};

}  // namespace banyan
