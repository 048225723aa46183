// CPU ArgMax: argmax_row (layers/argmax.h) over the rows in parallel; the
// GPU kernel runs the same function per thread, so both pick identically.
#include "layers/argmax.h"

#include <string>

#include "engine/core/parallel.h"
#include "layers/registry.h"

namespace banyan {

Status ArgMaxLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const Shape& s = bottom[0]->shape();
  const ArgMaxConfig& c = config_.argmax;
  if (c.top_k < 1) return error("top_k must be >= 1, got " + std::to_string(c.top_k));
  ArgMaxGeometry g;
  g.top_k = c.top_k;
  g.out_max_val = c.out_max_val;
  g.has_axis = c.axis.has_value();
  Shape out;
  if (g.has_axis) {
    if (!s.valid_axis(*c.axis)) {
      return error("axis " + std::to_string(*c.axis) + " is out of range for bottom '" +
                   bottom[0]->name() + "' of shape " + s.to_string());
    }
    const int a = s.canonical_axis(*c.axis);
    g.outer = s.count(0, a);
    g.dim = s.dim(a);
    g.inner = s.count(a + 1);
    out = s;
    out.set_dim(a, g.top_k);
  } else {
    if (s.num_axes() < 1) return error("bottom shape " + s.to_string() + " has no sample axis");
    g.outer = s.dim(0);
    g.dim = s.count(1);
    g.inner = 1;
    out = Shape{s.dim(0), g.out_max_val ? 2 : 1, g.top_k};
    for (int d = 3; d < s.num_axes(); ++d) out.push_back(1);
  }
  if (g.top_k > g.dim) {
    return error("top_k " + std::to_string(g.top_k) + " exceeds the " + std::to_string(g.dim) +
                 " entries per row of bottom shape " + s.to_string() +
                 (g.has_axis ? " along axis " + std::to_string(*c.axis) : " (per sample)"));
  }
  geo_ = g;
  top[0]->set_shape(out);
  return Status::success();
}

void ArgMaxLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                              WorkerContext& /*ctx*/) {
  const ArgMaxGeometry g = geo_;
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  parallel_for(g.outer * g.inner, g.dim * g.top_k, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) argmax_row(g, x, y, row);
  });
}

void ArgMaxLayer::backward_cpu(const std::vector<Blob*>& /*top*/,
                               const std::vector<bool>& /*propagate_down*/,
                               const std::vector<Blob*>& /*bottom*/, WorkerContext& /*ctx*/) {}

std::unique_ptr<Layer> new_argmax_layer(const LayerConfig& config) {
  return std::make_unique<ArgMaxLayer>(config);
}

}  // namespace banyan
