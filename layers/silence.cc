// CPU Silence: nothing forward, zero gradients backward.
#include "layers/silence.h"

#include <algorithm>

#include "layers/registry.h"

namespace banyan {

Status SilenceLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  return check_counts(bottom, top, 1, -1, 0, 0);
}

void SilenceLayer::forward_cpu(const std::vector<Blob*>& /*bottom*/,
                               const std::vector<Blob*>& /*top*/, WorkerContext& /*ctx*/) {}

void SilenceLayer::backward_cpu(const std::vector<Blob*>& /*top*/,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  for (size_t i = 0; i < bottom.size(); ++i) {
    if (propagate_down[i])
      std::fill(bottom[i]->diff(), bottom[i]->diff() + bottom[i]->count(), 0.0f);
  }
}

std::unique_ptr<Layer> new_silence_layer(const LayerConfig& config) {
  return std::make_unique<SilenceLayer>(config);
}

}  // namespace banyan
