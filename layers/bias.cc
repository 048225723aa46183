// CPU Bias: the broadcast add and per-slice sums of layers/slice_ops.h; the
// shape rules of Caffe's Bias (and Scale) layer at setup.
#include "layers/bias.h"

#include <cstring>

#include "layers/registry.h"
#include "layers/slice_ops.h"

namespace banyan {

Status BiasLayer::setup_bias_bottom(const Blob& x, const Blob& b) {
  const Shape& s = x.shape();
  const int k = b.num_axes();
  int axis = 0;
  if (k > 0) {
    if (!s.valid_axis(config_.bias.axis)) {
      return error("axis " + std::to_string(config_.bias.axis) + " is out of range for bottom '" +
                   x.name() + "' of shape " + s.to_string());
    }
    axis = s.canonical_axis(config_.bias.axis);
  }
  bool fits = axis + k <= s.num_axes();
  for (int i = 0; fits && i < k; ++i) fits = s.dim(axis + i) == b.shape().dim(i);
  if (!fits) {
    return error("bias '" + b.name() + "' of shape " + b.shape().to_string() +
                 " does not match the dimensions of bottom '" + x.name() + "' " + s.to_string() +
                 " from axis " + std::to_string(axis));
  }
  outer_ = s.count(0, axis);
  dim_ = b.count();
  inner_ = s.count(axis + k);
  return Status::success();
}

Status BiasLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 2, 1, 1));
  const Shape& s = bottom[0]->shape();
  if (bottom.size() == 2) {
    if (bottom[1] == top[0]) return error("the bias bottom cannot also be the top");
    BANYAN_RETURN_IF_ERROR(setup_bias_bottom(*bottom[0], *bottom[1]));
  } else {
    int axis = 0, end = 0;
    std::string why;
    if (!slice_span(s, bottom[0]->name(), config_.bias.axis, config_.bias.num_axes, &axis, &end,
                    &why)) {
      return error(why);
    }
    outer_ = s.count(0, axis);
    dim_ = s.count(axis, end);
    inner_ = s.count(end);
    declare_param(Shape(std::vector<int64_t>(s.dims().begin() + axis, s.dims().begin() + end)),
                  config_.bias.filler);
  }
  if (top[0] != bottom[0]) top[0]->set_shape(s);
#ifdef BANYAN_WITH_CUDA
  if (device().is_cuda()) {
    return Buffer::allocate(device(), slice_sums_scratch_bytes(outer_, dim_, inner_), &gpu_scratch_)
        .with_context("layer '" + name() + "' (Bias) reduction scratch");
  }
#endif
  return Status::success();
}

const float* BiasLayer::bias(const std::vector<Blob*>& bottom) const {
  return bottom.size() == 2 ? bottom[1]->data() : params_[0].blob->data();
}

float* BiasLayer::bias_diff(const std::vector<Blob*>& bottom) const {
  return bottom.size() == 2 ? bottom[1]->diff() : params_[0].blob->diff();
}

void BiasLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                            WorkerContext& /*ctx*/) {
  slice_affine_cpu(outer_, dim_, inner_, bottom[0]->data(), nullptr, bias(bottom), top[0]->data());
}

void BiasLayer::backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                             const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  const float* dy = top[0]->diff();
  const bool learned = bottom.size() == 1;
  if (learned || propagate_down[1]) {
    float* db = bias_diff(bottom);
    // A bottom's gradient is overwritten, a parameter's accumulates.
    if (!learned) std::memset(db, 0, static_cast<size_t>(dim_) * sizeof(float));
    slice_sums_cpu(outer_, dim_, inner_, dy, nullptr, nullptr, db);
  }
  // In place, dx is dy already.
  if (propagate_down[0] && bottom[0] != top[0]) {
    std::memcpy(bottom[0]->diff(), dy, static_cast<size_t>(bottom[0]->count()) * sizeof(float));
  }
}

std::unique_ptr<Layer> new_bias_layer(const LayerConfig& config) {
  return std::make_unique<BiasLayer>(config);
}

}  // namespace banyan
