// GPU Tile: one thread per top element forward; backward one thread per
// bottom element summing its tiles in tile order (as the CPU does).
#include "layers/tile.h"

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

__global__ void tile_forward_kernel(int64_t outer, int64_t tiles, int64_t inner,
                                    const float* x,  // (outer, inner)
                                    float* y) {      // (outer, tiles, inner)
  const int64_t count = outer * tiles * inner;
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t o = k / (tiles * inner), i = k % inner;
    y[k] = x[o * inner + i];
  }
}

__global__ void tile_backward_kernel(int64_t outer, int64_t tiles, int64_t inner,
                                     const float* dy,  // (outer, tiles, inner)
                                     float* dx) {      // (outer, inner)
  const int64_t count = outer * inner;
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t o = k / inner, i = k - o * inner;
    const float* src = dy + o * tiles * inner + i;
    float sum = src[0];
    for (int64_t t = 1; t < tiles; ++t) sum = __fadd_rn(sum, src[t * inner]);
    dx[k] = sum;
  }
}

}  // namespace

void TileLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                            WorkerContext& ctx) {
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "Tile forward");
  const int64_t count = top[0]->count();
  if (count == 0) return;
  tile_forward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      outer_, tiles_, inner_, bottom[0]->data(), top[0]->data());
  BANYAN_CUDA_CHECK_LAUNCH();
}

void TileLayer::backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                             const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "Tile backward");
  const int64_t count = bottom[0]->count();
  if (count == 0) return;
  tile_backward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      outer_, tiles_, inner_, top[0]->diff(), bottom[0]->diff());
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan
