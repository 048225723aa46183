// GPU Silence: nothing forward; backward fills the gradients asked for with
// zeros on the compute stream.
#include "layers/silence.h"

#include "cuda/elementwise.h"
#include "engine/core/gpu_resources.h"

namespace banyan {

void SilenceLayer::forward_gpu(const std::vector<Blob*>& /*bottom*/,
                               const std::vector<Blob*>& /*top*/, WorkerContext& /*ctx*/) {}

void SilenceLayer::backward_gpu(const std::vector<Blob*>& /*top*/,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  for (size_t i = 0; i < bottom.size(); ++i) {
    if (propagate_down[i]) {
      cuda::fill(bottom[i]->count(), 0.0f, bottom[i]->diff(), ctx.gpu().compute());
    }
  }
}

}  // namespace banyan
