// GPU ContrastiveLoss: one thread per pair computes d^2 (in double) and its
// loss term, the deterministic device total of layers/loss_util.h divides
// by 2N, and the gradient kernel scales a - b per element.
#include "layers/contrastive_loss.h"

#include <cmath>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"
#include "layers/loss_util.h"

namespace banyan {
namespace {

__device__ __forceinline__ bool similar(float y) { return truncf(y) != 0.0f; }

__global__ void pair_terms_kernel(int64_t num, int64_t channels, float margin, bool legacy,
                                  const float* a,  // a (N, C)
                                  const float* b,  // b (N, C)
                                  const float* y,  // y (N)
                                  float* dist_sq,  // d^2 (N)
                                  float* terms) {  // terms (N)
  for (int64_t n = cuda::grid_start(); n < num; n += cuda::grid_stride()) {
    double sq = 0.0;
    for (int64_t c = 0; c < channels; ++c) {
      const double d = __dsub_rn(static_cast<double>(a[n * channels + c]),
                                 static_cast<double>(b[n * channels + c]));
      sq = __dadd_rn(sq, __dmul_rn(d, d));
    }
    const float s = static_cast<float>(sq);
    dist_sq[n] = s;
    float term = s;
    if (!similar(y[n])) {
      const float h = fmaxf(legacy ? __fsub_rn(margin, s) : __fsub_rn(margin, sqrtf(s)), 0.0f);
      term = legacy ? h : __fmul_rn(h, h);
    }
    terms[n] = term;
  }
}

__global__ void pair_backward_kernel(int64_t num, int64_t channels, float margin, bool legacy,
                                     float sign,
                                     const float* a,        // a (N, C)
                                     const float* b,        // b (N, C)
                                     const float* y,        // y (N)
                                     const float* dist_sq,  // d^2 (N)
                                     const float* dloss,    // loss weight (1)
                                     float* dx) {           // dx (N, C)
  const float alpha = __fdiv_rn(__fmul_rn(sign, dloss[0]), static_cast<float>(num));
  const int64_t count = num * channels;
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t n = k / channels;
    float beta = alpha;
    if (!similar(y[n])) {
      const float dist = sqrtf(dist_sq[n]);
      const float h = legacy ? __fsub_rn(margin, dist_sq[n]) : __fsub_rn(margin, dist);
      beta = h <= 0.0f ? 0.0f
             : legacy  ? -alpha
                       : __fdiv_rn(__fmul_rn(-alpha, h), __fadd_rn(dist, 1e-4f));
    }
    dx[k] = __fmul_rn(beta, __fsub_rn(a[k], b[k]));
  }
}

}  // namespace

void ContrastiveLossLayer::forward_gpu(const std::vector<Blob*>& bottom,
                                       const std::vector<Blob*>& top, WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "ContrastiveLoss forward");
  float* terms = static_cast<float*>(gpu_terms_.data());
  if (num_ > 0) {
    pair_terms_kernel<<<cuda::grid_for(num_), cuda::kBlockSize, 0, stream>>>(
        num_, channels_, config_.contrastive_loss.margin, config_.contrastive_loss.legacy_version,
        bottom[0]->data(), bottom[1]->data(), bottom[2]->data(),
        static_cast<float*>(dist_sq_.data()), terms);
    BANYAN_CUDA_CHECK_LAUNCH();
  }
  gpu_loss_total(num_, terms, false, nullptr, 2.0 * static_cast<double>(num_), gpu_scratch_.data(),
                 top[0]->data(), stream);
}

void ContrastiveLossLayer::backward_gpu(const std::vector<Blob*>& top,
                                        const std::vector<bool>& propagate_down,
                                        const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "ContrastiveLoss backward");
  const int64_t count = num_ * channels_;
  if (count == 0) return;
  for (int i = 0; i < 2; ++i) {
    if (!propagate_down[i]) continue;
    pair_backward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
        num_, channels_, config_.contrastive_loss.margin, config_.contrastive_loss.legacy_version,
        i == 0 ? 1.0f : -1.0f, bottom[0]->data(), bottom[1]->data(), bottom[2]->data(),
        static_cast<const float*>(dist_sq_.data()), top[0]->diff(), bottom[i]->diff());
    BANYAN_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace banyan
