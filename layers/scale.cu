// GPU Scale over x viewed as (outer, D, inner): the broadcast multiply-add and
// the per-slice parameter-gradient sums of layers/slice_ops.h (in double on a
// fixed grid, no atomics, so bitwise reproducible; they accumulate (+=) like
// scale.cc), and dx = dy * gamma.
#include "layers/scale.h"

#include "engine/core/gpu_resources.h"
#include "layers/slice_ops.h"

namespace banyan {

Status ScaleLayer::setup_gpu() {
  return Buffer::allocate(device(), slice_sums_scratch_bytes(outer_, dim_, inner_), &gpu_scratch_)
      .with_context("layer '" + name() + "' (Scale) reduction scratch");
}

void ScaleLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                             WorkerContext& ctx) {
  slice_affine_gpu(outer_, dim_, inner_, bottom[0]->data(), params_[0].blob->data(),
                   params_.size() > 1 ? params_[1].blob->data() : nullptr, top[0]->data(),
                   ctx.gpu().compute());
}

void ScaleLayer::backward_gpu(const std::vector<Blob*>& top,
                              const std::vector<bool>& propagate_down,
                              const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  slice_sums_gpu(outer_, dim_, inner_, top[0]->diff(), bottom[0]->data(), gpu_scratch_.data(),
                 params_[0].blob->diff(), params_.size() > 1 ? params_[1].blob->diff() : nullptr,
                 stream);
  if (!propagate_down[0]) return;
  slice_affine_gpu(outer_, dim_, inner_, top[0]->diff(), params_[0].blob->data(), nullptr,
                   bottom[0]->diff(), stream);
}

}  // namespace banyan
