// GPU Reshape: like reshape.cc, a device-to-device copy of the data
// forward, of the gradient backward (top and bottom never alias).
#include "layers/reshape.h"

#include "cuda/memory.h"
#include "engine/core/gpu_resources.h"

namespace banyan {

void ReshapeLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                               WorkerContext& ctx) {
  cuda::copy_async(top[0]->data(), bottom[0]->data(),
                   static_cast<size_t>(bottom[0]->count()) * sizeof(float), ctx.gpu().compute());
}

void ReshapeLayer::backward_gpu(const std::vector<Blob*>& top,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  cuda::copy_async(bottom[0]->diff(), top[0]->diff(),
                   static_cast<size_t>(bottom[0]->count()) * sizeof(float), ctx.gpu().compute());
}

}  // namespace banyan
