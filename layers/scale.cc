// CPU Scale: broadcast multiply (and add) over (outer, D, inner), rows split
// among the worker's threads; the parameter gradients are reduced per d by
// one thread (rows in float, their sums in double), so results do not
// depend on the thread count.
#include "layers/scale.h"

#include "engine/core/parallel.h"
#include "layers/registry.h"

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
  if (!s.valid_axis(c.axis)) {
    return error("axis " + std::to_string(c.axis) + " is out of range for bottom '" +
                 bottom[0]->name() + "' of shape " + s.to_string());
  }
  const int axis = s.canonical_axis(c.axis);
  if (c.num_axes < -1) {
    return error("num_axes must be -1 (through the last axis) or >= 0, got " +
                 std::to_string(c.num_axes));
  }
  const int end = c.num_axes == -1 ? s.num_axes() : axis + c.num_axes;
  if (end > s.num_axes()) {
    return error("axis " + std::to_string(c.axis) + " with num_axes " + std::to_string(c.num_axes) +
                 " reaches past the last axis of bottom '" + bottom[0]->name() + "' of shape " +
                 s.to_string());
  }
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
  const float* x = bottom[0]->data();
  const float* gamma = params_[0].blob->data();
  const float* beta = params_.size() > 1 ? params_[1].blob->data() : nullptr;
  float* y = top[0]->data();
  parallel_for(outer_ * dim_, inner_, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t d = row % dim_;
      const float g = gamma[d], b = beta != nullptr ? beta[d] : 0.0f;
      const float* xr = x + row * inner_;
      float* yr = y + row * inner_;
#pragma omp simd
      for (int64_t i = 0; i < inner_; ++i) yr[i] = xr[i] * g + b;
    }
  });
}

void ScaleLayer::backward_cpu(const std::vector<Blob*>& top,
                              const std::vector<bool>& propagate_down,
                              const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  const float* x = bottom[0]->data();
  const float* dy = top[0]->diff();
  const float* gamma = params_[0].blob->data();
  float* dgamma = params_[0].blob->diff();
  float* dbeta = params_.size() > 1 ? params_[1].blob->diff() : nullptr;
  // Each d reduced by one thread: rows in float by the vector units, the
  // rows in double, in a fixed order.
  parallel_for(dim_, outer_ * inner_, 1, [&](int64_t begin, int64_t end) {
    for (int64_t d = begin; d < end; ++d) {
      double sum_dy_x = 0.0, sum_dy = 0.0;
      for (int64_t o = 0; o < outer_; ++o) {
        const int64_t base = (o * dim_ + d) * inner_;
        float row_dy_x = 0.0f, row_dy = 0.0f;
#pragma omp simd reduction(+ : row_dy_x, row_dy)
        for (int64_t i = 0; i < inner_; ++i) {
          row_dy_x += dy[base + i] * x[base + i];
          row_dy += dy[base + i];
        }
        sum_dy_x += row_dy_x;
        sum_dy += row_dy;
      }
      dgamma[d] += static_cast<float>(sum_dy_x);
      if (dbeta != nullptr) dbeta[d] += static_cast<float>(sum_dy);
    }
  });
  if (!propagate_down[0]) return;
  float* dx = bottom[0]->diff();
  parallel_for(outer_ * dim_, inner_, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const float g = gamma[row % dim_];
      const float* dyr = dy + row * inner_;
      float* dxr = dx + row * inner_;
#pragma omp simd
      for (int64_t i = 0; i < inner_; ++i) dxr[i] = dyr[i] * g;
    }
  });
}

std::unique_ptr<Layer> new_scale_layer(const LayerConfig& config) {
  return std::make_unique<ScaleLayer>(config);
}

}  // namespace banyan
