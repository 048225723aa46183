// GPU Concat: one strided copy kernel per bottom, moving its (outer, slab)
// block into (forward) or out of (backward) columns [offset, offset + slab)
// of the top viewed as (outer, top_slab).  A kernel rather than
// cudaMemcpy2DAsync, so no pitch limit applies to large tops.
#include "layers/concat.h"

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

// kToTop: top[o, offset + r] = part[o, r]; otherwise part[o, r] = top[o, offset + r].
template <bool kToTop>
__global__ void concat_copy_kernel(int64_t outer, int64_t slab, int64_t top_slab, int64_t offset,
                                   float* top,     // top (outer, top_slab)
                                   float* part) {  // part (outer, slab)
  const int64_t count = outer * slab;
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t o = k / slab, r = k - o * slab;
    const int64_t t = o * top_slab + offset + r;
    if (kToTop) {
      top[t] = part[k];
    } else {
      part[k] = top[t];
    }
  }
}

template <bool kToTop>
void concat_copy(int64_t outer, int64_t slab, int64_t top_slab, int64_t offset, float* top,
                 float* part, cudaStream_t stream) {
  CHECK(outer >= 0 && slab >= 0 && offset >= 0 && offset + slab <= top_slab)
      << "concat_copy: slab " << slab << " at offset " << offset << " of " << top_slab;
  cuda::check_stream(stream, "concat_copy");
  const int64_t count = outer * slab;
  if (count == 0) return;
  CHECK(top != nullptr && part != nullptr) << "concat_copy: null pointer";
  concat_copy_kernel<kToTop><<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      outer, slab, top_slab, offset, top, part);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void ConcatLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                              WorkerContext& ctx) {
  const int64_t top_slab = top[0]->dim(axis_) * inner_;
  int64_t offset = 0;
  for (Blob* b : bottom) {
    const int64_t slab = b->dim(axis_) * inner_;
    concat_copy<true>(outer_, slab, top_slab, offset, top[0]->data(), b->data(),
                      ctx.gpu().compute());
    offset += slab;
  }
}

void ConcatLayer::backward_gpu(const std::vector<Blob*>& top,
                               const std::vector<bool>& propagate_down,
                               const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  const int64_t top_slab = top[0]->dim(axis_) * inner_;
  int64_t offset = 0;
  for (size_t i = 0; i < bottom.size(); ++i) {
    const int64_t slab = bottom[i]->dim(axis_) * inner_;
    if (propagate_down[i]) {
      concat_copy<false>(outer_, slab, top_slab, offset, top[0]->diff(), bottom[i]->diff(),
                         ctx.gpu().compute());
    }
    offset += slab;
  }
}

}  // namespace banyan
