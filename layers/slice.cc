// CPU Slice: block copies of (top axis dim x inner) slabs per outer index.
#include "layers/slice.h"

#include <cstring>
#include <string>

#include "layers/registry.h"

namespace banyan {

Status SliceLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, -1));
  const Shape& s = bottom[0]->shape();
  const int axis = config_.slice.axis;
  if (!s.valid_axis(axis)) {
    return error("axis " + std::to_string(axis) + " is out of range for bottom '" +
                 bottom[0]->name() + "' of shape " + s.to_string());
  }
  axis_ = s.canonical_axis(axis);
  const int64_t dim = s.dim(axis_);
  const auto& points = config_.slice.slice_point;
  const int64_t tops = static_cast<int64_t>(top.size());
  std::vector<int64_t> sizes;
  if (!points.empty()) {
    if (static_cast<int64_t>(points.size()) != tops - 1) {
      return error(std::to_string(points.size()) + " slice points for " + std::to_string(tops) +
                   " tops; expected one fewer than the tops");
    }
    int64_t prev = 0;
    for (size_t i = 0; i < points.size(); ++i) {
      if (points[i] <= prev || points[i] >= dim) {
        return error("slice_point " + std::to_string(points[i]) + " (#" + std::to_string(i) +
                     ") must lie in (" + std::to_string(prev) + ", " + std::to_string(dim) +
                     "): points increase strictly inside axis " + std::to_string(axis_) +
                     " of bottom shape " + s.to_string());
      }
      sizes.push_back(points[i] - prev);
      prev = points[i];
    }
    sizes.push_back(dim - prev);
  } else {
    if (dim % tops != 0) {
      return error("axis " + std::to_string(axis_) + " of bottom shape " + s.to_string() +
                   " has dimension " + std::to_string(dim) + ", which does not divide into " +
                   std::to_string(tops) + " equal slices; give slice_point");
    }
    sizes.assign(static_cast<size_t>(tops), dim / tops);
  }
  outer_ = s.count(0, axis_);
  inner_ = s.count(axis_ + 1);
  for (size_t t = 0; t < top.size(); ++t) {
    Shape out = s;
    out.set_dim(axis_, sizes[t]);
    top[t]->set_shape(out);
  }
  return Status::success();
}

void SliceLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                             WorkerContext& /*ctx*/) {
  const int64_t bottom_slab = bottom[0]->dim(axis_) * inner_;
  const float* x = bottom[0]->data();
  int64_t offset = 0;
  for (Blob* t : top) {
    const int64_t slab = t->dim(axis_) * inner_;
    for (int64_t o = 0; o < outer_; ++o) {
      std::memcpy(t->data() + o * slab, x + o * bottom_slab + offset,
                  static_cast<size_t>(slab) * sizeof(float));
    }
    offset += slab;
  }
}

void SliceLayer::backward_cpu(const std::vector<Blob*>& top,
                              const std::vector<bool>& propagate_down,
                              const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const int64_t bottom_slab = bottom[0]->dim(axis_) * inner_;
  float* dx = bottom[0]->diff();
  int64_t offset = 0;
  for (Blob* t : top) {
    const int64_t slab = t->dim(axis_) * inner_;
    for (int64_t o = 0; o < outer_; ++o) {
      std::memcpy(dx + o * bottom_slab + offset, t->diff() + o * slab,
                  static_cast<size_t>(slab) * sizeof(float));
    }
    offset += slab;
  }
}

std::unique_ptr<Layer> new_slice_layer(const LayerConfig& config) {
  return std::make_unique<SliceLayer>(config);
}

}  // namespace banyan
