// CPU Flatten: a reshape by copy (data forward, gradient backward).
#include "layers/flatten.h"

#include <cstring>

#include "layers/registry.h"

namespace banyan {

Status FlattenLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const Shape& s = bottom[0]->shape();
  const int axis = config_.flatten.axis, end_axis = config_.flatten.end_axis;
  for (int a : {axis, end_axis}) {
    if (!s.valid_axis(a)) {
      return error("axis " + std::to_string(a) + " is out of range for bottom '" +
                   bottom[0]->name() + "' of shape " + s.to_string());
    }
  }
  const int start = s.canonical_axis(axis), end = s.canonical_axis(end_axis);
  if (start > end) {
    return error("axis " + std::to_string(axis) + " comes after end_axis " +
                 std::to_string(end_axis) + " for bottom shape " + s.to_string());
  }
  Shape out;
  for (int d = 0; d < start; ++d) out.push_back(s.dim(d));
  out.push_back(s.count(start, end + 1));
  for (int d = end + 1; d < s.num_axes(); ++d) out.push_back(s.dim(d));
  top[0]->set_shape(out);
  return Status::success();
}

void FlattenLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                               WorkerContext& /*ctx*/) {
  std::memcpy(top[0]->data(), bottom[0]->data(),
              static_cast<size_t>(bottom[0]->count()) * sizeof(float));
}

void FlattenLayer::backward_cpu(const std::vector<Blob*>& top,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  std::memcpy(bottom[0]->diff(), top[0]->diff(),
              static_cast<size_t>(bottom[0]->count()) * sizeof(float));
}

std::unique_ptr<Layer> new_flatten_layer(const LayerConfig& config) {
  return std::make_unique<FlattenLayer>(config);
}

}  // namespace banyan
