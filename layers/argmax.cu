// GPU ArgMax: one thread per row running argmax_row (layers/argmax.h), the
// function the CPU runs, so picks and tie-breaks agree exactly.
#include "layers/argmax.h"

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

__global__ void argmax_kernel(ArgMaxGeometry g,
                              const float* x,  // bottom (outer, dim, inner)
                              float* y) {      // top
  const int64_t rows = g.outer * g.inner;
  for (int64_t row = cuda::grid_start(); row < rows; row += cuda::grid_stride()) {
    argmax_row(g, x, y, row);
  }
}

}  // namespace

void ArgMaxLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                              WorkerContext& ctx) {
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "ArgMax forward");
  const int64_t rows = geo_.outer * geo_.inner;
  if (rows == 0) return;
  argmax_kernel<<<cuda::grid_for(rows), cuda::kBlockSize, 0, stream>>>(geo_, bottom[0]->data(),
                                                                       top[0]->data());
  BANYAN_CUDA_CHECK_LAUNCH();
}

void ArgMaxLayer::backward_gpu(const std::vector<Blob*>& /*top*/,
                               const std::vector<bool>& /*propagate_down*/,
                               const std::vector<Blob*>& /*bottom*/, WorkerContext& /*ctx*/) {}

}  // namespace banyan
