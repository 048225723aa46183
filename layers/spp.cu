// GPU SPP: the Poolings run their own kernels; here only the strided copy
// between a level's (N, slab) output and the top's columns, and the sum of
// the levels' gradients (cuda::axpy, in the CPU's order).
#include "layers/spp.h"

#include <glog/logging.h>

#include "cuda/check.h"
#include "cuda/elementwise.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

// kToTop: top[n, offset + r] = level[n, r]; otherwise level[n, r] = top[n, offset + r].
template <bool kToTop>
__global__ void spp_copy_kernel(int64_t count, int64_t slab, int64_t row, int64_t offset,
                                float* level,  // level (N, slab)
                                float* top) {  // top (N, row)
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t n = k / slab, r = k - n * slab;
    const int64_t t = n * row + offset + r;
    if (kToTop) {
      top[t] = level[k];
    } else {
      level[k] = top[t];
    }
  }
}

}  // namespace

void SppLayer::copy_columns_gpu(int64_t slab, int64_t offset, bool to_top, float* level_values,
                                float* top_values, WorkerContext& ctx) const {
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "spp copy");
  CHECK(offset + slab <= row_) << "layer " << name() << ": columns out of range";
  const int64_t count = num_ * slab;
  if (count == 0) return;
  if (to_top) {
    spp_copy_kernel<true><<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
        count, slab, row_, offset, level_values, top_values);
  } else {
    spp_copy_kernel<false><<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
        count, slab, row_, offset, level_values, top_values);
  }
  BANYAN_CUDA_CHECK_LAUNCH();
}

void SppLayer::accumulate_gpu(const float* part, float* dx, WorkerContext& ctx) const {
  cuda::axpy(bottom_count_, 1.0f, part, dx, ctx.gpu().compute());
}

Status SppLayer::prepare_device(WorkerContext& ctx) {
  for (Level& v : levels_) BANYAN_RETURN_IF_ERROR(v.pool->prepare_device(ctx));
  return Status::success();
}

void SppLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                           WorkerContext& ctx) {
  run_forward(bottom, top, ctx);
}

void SppLayer::backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                            const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (propagate_down[0]) run_backward(top, bottom, ctx);
}

}  // namespace banyan
