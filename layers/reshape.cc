// CPU Reshape: shape inference (Caffe's rules for 0, -1, axis, num_axes)
// and a copy of the data forward, of the gradient backward.
#include "layers/reshape.h"

#include <cstring>
#include <string>

#include "layers/registry.h"

namespace banyan {

Status ReshapeLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const Shape& in = bottom[0]->shape();
  const ReshapeConfig& c = config_.reshape;
  const int rank = in.num_axes();
  // axis in [-(rank + 1), rank]: -1 is the end, as Caffe counts it here.
  const int start = c.axis >= 0 ? c.axis : rank + c.axis + 1;
  if (start < 0 || start > rank) {
    return error("axis " + std::to_string(c.axis) + " is out of range for bottom shape " +
                 in.to_string() + " (expected " + std::to_string(-(rank + 1)) + " to " +
                 std::to_string(rank) + ")");
  }
  if (c.num_axes < -1) return error("num_axes must be >= -1, got " + std::to_string(c.num_axes));
  const int end = c.num_axes == -1 ? rank : start + c.num_axes;
  if (end > rank) {
    return error("axis " + std::to_string(c.axis) + " with num_axes " + std::to_string(c.num_axes) +
                 " reaches past the last axis of bottom shape " + in.to_string());
  }
  Shape out;
  for (int d = 0; d < start; ++d) out.push_back(in.dim(d));
  int inferred = -1;
  int64_t known = in.count(0, start) * in.count(end);
  for (size_t i = 0; i < c.shape.size(); ++i) {
    int64_t d = c.shape[i];
    const int from = start + static_cast<int>(i);
    if (d == 0) {
      if (from >= rank) {
        return error("shape dim " + std::to_string(i) + " is 0 (copy) but bottom shape " +
                     in.to_string() + " has no axis " + std::to_string(from) + " to copy");
      }
      d = in.dim(from);
    } else if (d == -1) {
      if (inferred >= 0) return error("shape has more than one -1 (inferred) dimension");
      inferred = out.num_axes();
    } else if (d < 0) {
      return error("shape dim " + std::to_string(i) + " is " + std::to_string(d) +
                   "; expected > 0, 0 (copy) or -1 (infer)");
    }
    out.push_back(d);
    if (d != -1) known *= d;
  }
  for (int d = end; d < rank; ++d) out.push_back(in.dim(d));
  if (inferred >= 0) {
    if (known == 0 || in.count() % known != 0) {
      return error("cannot infer the -1 dimension: bottom shape " + in.to_string() + " (count " +
                   std::to_string(in.count()) + ") is not a multiple of the other dimensions' " +
                   std::to_string(known));
    }
    out.set_dim(inferred, in.count() / known);
  }
  if (out.count() != in.count()) {
    return error("top shape " + out.to_string() + " has " + std::to_string(out.count()) +
                 " elements but bottom shape " + in.to_string() + " has " +
                 std::to_string(in.count()));
  }
  top[0]->set_shape(out);
  return Status::success();
}

void ReshapeLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                               WorkerContext& /*ctx*/) {
  std::memcpy(top[0]->data(), bottom[0]->data(),
              static_cast<size_t>(bottom[0]->count()) * sizeof(float));
}

void ReshapeLayer::backward_cpu(const std::vector<Blob*>& top,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  std::memcpy(bottom[0]->diff(), top[0]->diff(),
              static_cast<size_t>(bottom[0]->count()) * sizeof(float));
}

std::unique_ptr<Layer> new_reshape_layer(const LayerConfig& config) {
  return std::make_unique<ReshapeLayer>(config);
}

}  // namespace banyan
