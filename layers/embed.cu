// GPU Embed: one thread per output element gathers W's row; backward runs
// one thread per output column d, which walks the indices in order adding
// dy into dW[index, d] (and sums db[d] in double).  Columns are disjoint, so
// there are no atomics and the result is deterministic and equal to the
// CPU's; the parallelism is num_output threads, enough for embedding sizes.
#include "layers/embed.h"

#include <cmath>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"
#include "layers/loss_util.cuh"

namespace banyan {
namespace {

__global__ void embed_forward_kernel(int64_t rows, int64_t inputs, int64_t outputs,
                                     const float* index,  // index (M)
                                     const float* w,      // W (K, N)
                                     const float* b,      // b (N) or null
                                     float* y) {          // y (M, N)
  const int64_t count = rows * outputs;
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t m = k / outputs, d = k - m * outputs;
    const int64_t i = class_of(index[m], inputs);
    if (i < 0) {
      y[k] = NAN;
      continue;
    }
    const float v = w[i * outputs + d];
    y[k] = b != nullptr ? __fadd_rn(v, b[d]) : v;
  }
}

__global__ void embed_backward_kernel(int64_t rows, int64_t inputs, int64_t outputs,
                                      const float* index,  // index (M)
                                      const float* dy,     // dy (M, N)
                                      float* dw,           // dW (K, N), +=
                                      float* db) {         // db (N) or null, +=
  for (int64_t d = cuda::grid_start(); d < outputs; d += cuda::grid_stride()) {
    double sum = 0.0;
    for (int64_t m = 0; m < rows; ++m) {
      const float g = dy[m * outputs + d];
      sum = __dadd_rn(sum, static_cast<double>(g));
      const int64_t i = class_of(index[m], inputs);
      if (i >= 0) dw[i * outputs + d] = __fadd_rn(dw[i * outputs + d], g);
    }
    if (db != nullptr) db[d] = __fadd_rn(db[d], static_cast<float>(sum));
  }
}

}  // namespace

void EmbedLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                             WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "Embed forward");
  const int64_t count = rows_ * outputs_;
  if (count == 0) return;
  embed_forward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      rows_, inputs_, outputs_, bottom[0]->data(), params_[0].blob->data(),
      params_.size() > 1 ? params_[1].blob->data() : nullptr, top[0]->data());
  BANYAN_CUDA_CHECK_LAUNCH();
}

void EmbedLayer::backward_gpu(const std::vector<Blob*>& top,
                              const std::vector<bool>& /*propagate_down*/,
                              const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "Embed backward");
  embed_backward_kernel<<<cuda::grid_for(outputs_), cuda::kBlockSize, 0, stream>>>(
      rows_, inputs_, outputs_, bottom[0]->data(), top[0]->diff(), params_[0].blob->diff(),
      params_.size() > 1 ? params_[1].blob->diff() : nullptr);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan
