// CPU Concat: block copies of (bottom axis dim x inner) slabs per outer index.
#include "layers/concat.h"

#include <cstring>

#include "layers/registry.h"

namespace banyan {

Status ConcatLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, -1, 1, 1));
  const Shape& first = bottom[0]->shape();
  const int axis = config_.concat.axis;
  if (!first.valid_axis(axis)) {
    return error("axis " + std::to_string(axis) + " is out of range for bottom '" +
                 bottom[0]->name() + "' of shape " + first.to_string());
  }
  axis_ = first.canonical_axis(axis);
  Shape out = first;
  int64_t total = 0;
  for (size_t b = 0; b < bottom.size(); ++b) {
    const Shape& s = bottom[b]->shape();
    if (s.num_axes() != first.num_axes()) {
      return error("bottom " + std::to_string(b) + " '" + bottom[b]->name() + "' has shape " +
                   s.to_string() + " of rank " + std::to_string(s.num_axes()) + "; expected rank " +
                   std::to_string(first.num_axes()) + " like bottom 0 " + first.to_string());
    }
    for (int d = 0; d < s.num_axes(); ++d) {
      if (d != axis_ && s.dim(d) != first.dim(d)) {
        return error("bottom " + std::to_string(b) + " '" + bottom[b]->name() + "' has shape " +
                     s.to_string() + "; dimension " + std::to_string(d) + " is " +
                     std::to_string(s.dim(d)) + " but bottom 0 " + first.to_string() + " has " +
                     std::to_string(first.dim(d)) + " (only axis " + std::to_string(axis_) +
                     " may differ)");
      }
    }
    total += s.dim(axis_);
  }
  out.set_dim(axis_, total);
  outer_ = first.count(0, axis_);
  inner_ = first.count(axis_ + 1);
  top[0]->set_shape(out);
  return Status::success();
}

void ConcatLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                              WorkerContext& /*ctx*/) {
  const int64_t top_slab = top[0]->dim(axis_) * inner_;
  float* y = top[0]->data();
  int64_t offset = 0;
  for (Blob* b : bottom) {
    const int64_t slab = b->dim(axis_) * inner_;
    for (int64_t o = 0; o < outer_; ++o) {
      std::memcpy(y + o * top_slab + offset, b->data() + o * slab,
                  static_cast<size_t>(slab) * sizeof(float));
    }
    offset += slab;
  }
}

void ConcatLayer::backward_cpu(const std::vector<Blob*>& top,
                               const std::vector<bool>& propagate_down,
                               const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  const int64_t top_slab = top[0]->dim(axis_) * inner_;
  const float* dy = top[0]->diff();
  int64_t offset = 0;
  for (size_t i = 0; i < bottom.size(); ++i) {
    const int64_t slab = bottom[i]->dim(axis_) * inner_;
    if (propagate_down[i]) {
      for (int64_t o = 0; o < outer_; ++o) {
        std::memcpy(bottom[i]->diff() + o * slab, dy + o * top_slab + offset,
                    static_cast<size_t>(slab) * sizeof(float));
      }
    }
    offset += slab;
  }
}

std::unique_ptr<Layer> new_concat_layer(const LayerConfig& config) {
  return std::make_unique<ConcatLayer>(config);
}

}  // namespace banyan
