// GPU Crop: one thread per top element maps its multi-index through the
// CropGeometry (passed by value) to bottom 0; backward fills bottom 0's
// gradient with zeros, then scatters the top's gradient into the window.
#include "layers/crop.h"

#include "cuda/check.h"
#include "cuda/elementwise.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

__device__ int64_t bottom_index(const CropGeometry& g, int64_t k) {
  int64_t b = g.base;
  for (int d = g.rank - 1; d >= 0; --d) {
    const int64_t i = k % g.top_dims[d];
    k /= g.top_dims[d];
    b += i * g.bottom_strides[d];
  }
  return b;
}

// kForward: top[k] = bottom[map(k)]; otherwise bottom[map(k)] = top[k].
template <bool kForward>
__global__ void crop_kernel(CropGeometry g,
                            float* bottom,  // bottom 0 data or diff
                            float* top) {   // top data or diff (top_count)
  for (int64_t k = cuda::grid_start(); k < g.top_count; k += cuda::grid_stride()) {
    const int64_t b = bottom_index(g, k);
    if (kForward) {
      top[k] = bottom[b];
    } else {
      bottom[b] = top[k];
    }
  }
}

template <bool kForward>
void crop_copy(const CropGeometry& g, float* bottom, float* top, cudaStream_t stream) {
  cuda::check_stream(stream, "crop_copy");
  if (g.top_count == 0) return;
  CHECK(bottom != nullptr && top != nullptr) << "crop_copy: null pointer";
  crop_kernel<kForward>
      <<<cuda::grid_for(g.top_count), cuda::kBlockSize, 0, stream>>>(g, bottom, top);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void CropLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                            WorkerContext& ctx) {
  crop_copy<true>(geo_, bottom[0]->data(), top[0]->data(), ctx.gpu().compute());
}

void CropLayer::backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                             const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::fill(bottom[0]->count(), 0.0f, bottom[0]->diff(), stream);
  crop_copy<false>(geo_, bottom[0]->diff(), top[0]->diff(), stream);
}

}  // namespace banyan
