// CPU PReLU: the elementwise map over (N, C, inner), the slope gradient as
// per-slice sums of dy min(x, 0) (layers/slice_ops.h), then dx.
#include "layers/prelu.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstring>

#include "layers/registry.h"
#include "layers/slice_ops.h"

namespace banyan {

Status PReluLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const Shape& s = bottom[0]->shape();
  if (s.num_axes() < 2) {
    return error("bottom '" + bottom[0]->name() + "' of shape " + s.to_string() +
                 " needs at least 2 axes (channels are axis 1)");
  }
  count_ = s.count();
  num_ = s.dim(0);
  channels_ = s.dim(1);
  inner_ = s.count(2);
  declare_param(shared() ? Shape{} : Shape{channels_}, config_.prelu.filler);
  if (top[0] != bottom[0]) {
    top[0]->set_shape(s);
  } else {
    BANYAN_RETURN_IF_ERROR(
        Buffer::allocate(device(), static_cast<size_t>(count_) * sizeof(float), &input_copy_)
            .with_context("layer '" + name() + "' (PReLU) input copy"));
  }
#ifdef BANYAN_WITH_CUDA
  if (device().is_cuda()) {
    return Buffer::allocate(device(), slice_sums_scratch_bytes(sum_outer(), sum_dim(), sum_inner()),
                            &gpu_scratch_)
        .with_context("layer '" + name() + "' (PReLU) reduction scratch");
  }
#endif
  return Status::success();
}

const float* PReluLayer::input(const std::vector<Blob*>& bottom,
                               const std::vector<Blob*>& top) const {
  if (bottom[0] != top[0]) return bottom[0]->data();
  CHECK(input_copy_.data() != nullptr) << "PReLU '" << name() << "' runs in place but was not "
                                       << "set up in place";
  return static_cast<const float*>(input_copy_.data());
}

void PReluLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                             WorkerContext& /*ctx*/) {
  const float* x = bottom[0]->data();
  if (bottom[0] == top[0]) {
    std::memcpy(const_cast<float*>(input(bottom, top)), x,
                static_cast<size_t>(count_) * sizeof(float));
  }
  const float* a = params_[0].blob->data();
  float* y = top[0]->data();
  for (int64_t k = 0; k < count_; ++k) {
    const float slope = a[shared() ? 0 : (k / inner_) % channels_];
    y[k] = x[k] > 0.0f ? x[k] : slope * x[k];
  }
}

void PReluLayer::backward_cpu(const std::vector<Blob*>& top,
                              const std::vector<bool>& propagate_down,
                              const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  const float* x = input(bottom, top);
  const float* dy = top[0]->diff();
  float* t = ctx.workspace();  // dy min(x, 0) (count)
  for (int64_t k = 0; k < count_; ++k) t[k] = dy[k] * std::min(x[k], 0.0f);
  slice_sums_cpu(sum_outer(), sum_dim(), sum_inner(), t, nullptr, nullptr, params_[0].blob->diff());
  if (!propagate_down[0]) return;
  const float* a = params_[0].blob->data();
  float* dx = bottom[0]->diff();  // may be dy (in place): read before written
  for (int64_t k = 0; k < count_; ++k) {
    const float slope = a[shared() ? 0 : (k / inner_) % channels_];
    dx[k] = x[k] > 0.0f ? dy[k] : dy[k] * slope;
  }
}

std::unique_ptr<Layer> new_prelu_layer(const LayerConfig& config) {
  return std::make_unique<PReluLayer>(config);
}

}  // namespace banyan
