// CPU inverted dropout with a counter-based mask keyed by (seed, layer name,
// global sample index, element index); see dropout.h for the formula.
#include "layers/dropout.h"

#include <cstring>

#include "engine/core/random.h"
#include "layers/registry.h"

namespace banyan {

Status DropoutLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const float p = config_.dropout.dropout_ratio;
  if (!(p >= 0.0f && p < 1.0f)) {
    return error("dropout_ratio must lie in [0, 1), got " + std::to_string(p));
  }
  if (bottom[0]->num_axes() < 1) {
    return error("bottom '" + bottom[0]->name() + "' has shape " + bottom[0]->shape().to_string() +
                 "; expected at least one (sample) axis");
  }
  if (top[0] != bottom[0]) top[0]->set_shape(bottom[0]->shape());
  return Buffer::allocate(device(), static_cast<size_t>(bottom[0]->count()), &mask_)
      .with_context("layer '" + name() + "' (Dropout) mask");
}

void DropoutLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                               WorkerContext& ctx) {
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  const int64_t count = bottom[0]->count();
  last_forward_train_ = ctx.step().phase == Phase::kTrain;
  if (!last_forward_train_) {
    if (y != x) std::memcpy(y, x, static_cast<size_t>(count) * sizeof(float));
    return;
  }
  const float p = config_.dropout.dropout_ratio;
  const float scale = 1.0f / (1.0f - p);
  const uint64_t key = key_for(ctx.seed(), name());
  const int64_t num = bottom[0]->dim(0);
  const int64_t per_sample = bottom[0]->shape().count(1);
  uint8_t* mask = static_cast<uint8_t*>(mask_.data());
  for (int64_t n = 0; n < num; ++n) {
    const uint64_t sample = static_cast<uint64_t>(ctx.step().sample_base + n);
    for (int64_t j = 0; j < per_sample; ++j) {
      const int64_t i = n * per_sample + j;
      const bool keep = uniform_at(key, sample, static_cast<uint64_t>(j)) >= p;
      mask[i] = keep ? 1 : 0;
      y[i] = keep ? x[i] * scale : 0.0f;
    }
  }
}

void DropoutLayer::backward_cpu(const std::vector<Blob*>& top,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const float* dy = top[0]->diff();
  float* dx = bottom[0]->diff();
  const int64_t count = bottom[0]->count();
  if (!last_forward_train_) {
    if (dx != dy) std::memcpy(dx, dy, static_cast<size_t>(count) * sizeof(float));
    return;
  }
  const float scale = 1.0f / (1.0f - config_.dropout.dropout_ratio);
  const uint8_t* mask = static_cast<const uint8_t*>(mask_.data());
  for (int64_t i = 0; i < count; ++i) dx[i] = mask[i] ? dy[i] * scale : 0.0f;
}

std::unique_ptr<Layer> new_dropout_layer(const LayerConfig& config) {
  return std::make_unique<DropoutLayer>(config);
}

}  // namespace banyan
