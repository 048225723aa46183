// GPU Bias: the broadcast add and the per-slice bias-gradient sums of
// layers/slice_ops.h (deterministic, no atomics); dx = dy by a device copy.
#include "layers/bias.h"

#include "cuda/check.h"
#include "cuda/memory.h"
#include "engine/core/gpu_resources.h"
#include "layers/slice_ops.h"

namespace banyan {

void BiasLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                            WorkerContext& ctx) {
  slice_affine_gpu(outer_, dim_, inner_, bottom[0]->data(), nullptr, bias(bottom), top[0]->data(),
                   ctx.gpu().compute());
}

void BiasLayer::backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                             const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  const float* dy = top[0]->diff();
  const bool learned = bottom.size() == 1;
  if (learned || propagate_down[1]) {
    float* db = bias_diff(bottom);
    // A bottom's gradient is overwritten, a parameter's accumulates.
    if (!learned) {
      BANYAN_CUDA_CHECK(cudaMemsetAsync(db, 0, static_cast<size_t>(dim_) * sizeof(float), stream));
    }
    slice_sums_gpu(outer_, dim_, inner_, dy, nullptr, gpu_scratch_.data(), nullptr, db, stream);
  }
  if (propagate_down[0] && bottom[0] != top[0]) {
    cuda::copy_async(bottom[0]->diff(), dy, static_cast<size_t>(bottom[0]->count()) * sizeof(float),
                     stream);
  }
}

}  // namespace banyan
