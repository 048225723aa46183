// CPU Scale: broadcast multiply (and add) over (outer, D, inner) and the
// per-slice parameter-gradient sums of layers/slice_ops.h (reduced per d by
// one thread, so results do not depend on the thread count).
#include "layers/scale.h"

#include "layers/registry.h"
#include "layers/slice_ops.h"

namespace banyan {

Status ScaleLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  if (bottom.size() == 2) {
    return Status(StatusCode::kUnimplemented,
                  error("a second bottom (the scale given as an input blob) is not supported; "
                        "use one bottom and a learned scale")
                      .message());
  }
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const ScaleConfig& c = config_.scale;
  const Shape& s = bottom[0]->shape();
  int axis = 0, end = 0;
  std::string why;
  if (!slice_span(s, bottom[0]->name(), c.axis, c.num_axes, &axis, &end, &why)) return error(why);
  outer_ = s.count(0, axis);
  dim_ = s.count(axis, end);
  inner_ = s.count(end);
  Shape gamma_shape(std::vector<int64_t>(s.dims().begin() + axis, s.dims().begin() + end));
  declare_param(gamma_shape, c.filler);
  if (c.bias_term) declare_param(gamma_shape, c.bias_filler);
  top[0]->set_shape(s);
#ifdef BANYAN_WITH_CUDA
  if (device().is_cuda()) return setup_gpu();
#endif
  return Status::success();
}

void ScaleLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                             WorkerContext& /*ctx*/) {
  slice_affine_cpu(outer_, dim_, inner_, bottom[0]->data(), params_[0].blob->data(),
                   params_.size() > 1 ? params_[1].blob->data() : nullptr, top[0]->data());
}

void ScaleLayer::backward_cpu(const std::vector<Blob*>& top,
                              const std::vector<bool>& propagate_down,
                              const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  const float* dy = top[0]->diff();
  slice_sums_cpu(outer_, dim_, inner_, dy, bottom[0]->data(), params_[0].blob->diff(),
                 params_.size() > 1 ? params_[1].blob->diff() : nullptr);
  if (!propagate_down[0]) return;
  slice_affine_cpu(outer_, dim_, inner_, dy, params_[0].blob->data(), nullptr, bottom[0]->diff());
}

std::unique_ptr<Layer> new_scale_layer(const LayerConfig& config) {
  return std::make_unique<ScaleLayer>(config);
}

}  // namespace banyan
