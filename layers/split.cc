// CPU Split: copy forward, summed gradients backward.
#include "layers/split.h"

#include <cstring>

#include "layers/registry.h"

namespace banyan {

Status SplitLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, -1));
  for (size_t t = 0; t < top.size(); ++t) {
    if (top[t] == bottom[0]) {
      return error("top " + std::to_string(t) + " '" + top[t]->name() +
                   "' is the bottom itself; every top of a Split needs its own blob");
    }
    top[t]->set_shape(bottom[0]->shape());
  }
  return Status::success();
}

void SplitLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                             WorkerContext& /*ctx*/) {
  const size_t bytes = static_cast<size_t>(bottom[0]->count()) * sizeof(float);
  for (Blob* t : top) std::memcpy(t->data(), bottom[0]->data(), bytes);
}

void SplitLayer::backward_cpu(const std::vector<Blob*>& top,
                              const std::vector<bool>& propagate_down,
                              const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const int64_t n = bottom[0]->count();
  float* dx = bottom[0]->diff();
  std::memcpy(dx, top[0]->diff(), static_cast<size_t>(n) * sizeof(float));
  for (size_t t = 1; t < top.size(); ++t) {
    const float* dy = top[t]->diff();
    for (int64_t i = 0; i < n; ++i) dx[i] += dy[i];
  }
}

std::unique_ptr<Layer> new_split_layer(const LayerConfig& config) {
  return std::make_unique<SplitLayer>(config);
}

}  // namespace banyan
