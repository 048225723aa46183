// GPU Split: each top gets a device-to-device copy of the bottom (as split.cc
// does); backward sums the top gradients left to right with the shared add
// kernel, which rounds like the CPU loop, so results match it bit for bit.
#include "layers/split.h"

#include "cuda/elementwise.h"
#include "cuda/memory.h"
#include "engine/core/gpu_resources.h"

namespace banyan {

void SplitLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                             WorkerContext& ctx) {
  const size_t bytes = static_cast<size_t>(bottom[0]->count()) * sizeof(float);
  for (Blob* t : top) cuda::copy_async(t->data(), bottom[0]->data(), bytes, ctx.gpu().compute());
}

void SplitLayer::backward_gpu(const std::vector<Blob*>& top,
                              const std::vector<bool>& propagate_down,
                              const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  const int64_t n = bottom[0]->count();
  float* dx = bottom[0]->diff();
  cudaStream_t stream = ctx.gpu().compute();
  if (top.size() == 1) {
    cuda::copy_async(dx, top[0]->diff(), static_cast<size_t>(n) * sizeof(float), stream);
    return;
  }
  // dx = ((dy0 + dy1) + dy2) + ...: the CPU's order.
  cuda::add(n, top[0]->diff(), top[1]->diff(), dx, stream);
  for (size_t t = 2; t < top.size(); ++t) cuda::add(n, dx, top[t]->diff(), dx, stream);
}

}  // namespace banyan
