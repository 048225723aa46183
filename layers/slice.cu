// GPU Slice: one strided copy kernel per top, moving columns [offset,
// offset + slab) of the bottom viewed as (outer, bottom_slab) into the top
// (forward) or the top's gradient back into them (backward).
#include "layers/slice.h"

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

// kToTop: part[o, r] = whole[o, offset + r]; otherwise the reverse.
template <bool kToTop>
__global__ void slice_copy_kernel(int64_t outer, int64_t slab, int64_t whole_slab, int64_t offset,
                                  float* whole,   // bottom (outer, whole_slab)
                                  float* part) {  // top (outer, slab)
  const int64_t count = outer * slab;
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t o = k / slab, r = k - o * slab;
    const int64_t w = o * whole_slab + offset + r;
    if (kToTop) {
      part[k] = whole[w];
    } else {
      whole[w] = part[k];
    }
  }
}

template <bool kToTop>
void slice_copy(int64_t outer, int64_t slab, int64_t whole_slab, int64_t offset, float* whole,
                float* part, cudaStream_t stream) {
  CHECK(outer >= 0 && slab >= 0 && offset >= 0 && offset + slab <= whole_slab)
      << "slice_copy: slab " << slab << " at offset " << offset << " of " << whole_slab;
  cuda::check_stream(stream, "slice_copy");
  const int64_t count = outer * slab;
  if (count == 0) return;
  CHECK(whole != nullptr && part != nullptr) << "slice_copy: null pointer";
  slice_copy_kernel<kToTop><<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      outer, slab, whole_slab, offset, whole, part);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void SliceLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                             WorkerContext& ctx) {
  const int64_t bottom_slab = bottom[0]->dim(axis_) * inner_;
  int64_t offset = 0;
  for (Blob* t : top) {
    const int64_t slab = t->dim(axis_) * inner_;
    slice_copy<true>(outer_, slab, bottom_slab, offset, bottom[0]->data(), t->data(),
                     ctx.gpu().compute());
    offset += slab;
  }
}

void SliceLayer::backward_gpu(const std::vector<Blob*>& top,
                              const std::vector<bool>& propagate_down,
                              const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  const int64_t bottom_slab = bottom[0]->dim(axis_) * inner_;
  int64_t offset = 0;
  for (Blob* t : top) {
    const int64_t slab = t->dim(axis_) * inner_;
    slice_copy<false>(outer_, slab, bottom_slab, offset, bottom[0]->diff(), t->diff(),
                      ctx.gpu().compute());
    offset += slab;
  }
}

}  // namespace banyan
