// GPU MultinomialLogisticLoss: one thread per sample writes its term, the
// deterministic device total of layers/loss_util.h divides by N, and the
// gradient kernel writes every element.  An invalid label yields NaN.
#include "layers/multinomial_logistic_loss.h"

#include <cmath>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"
#include "layers/loss_util.cuh"
#include "layers/loss_util.h"

namespace banyan {
namespace {

__global__ void mll_terms_kernel(int64_t num, int64_t classes,
                                 const float* p,       // p (N, K)
                                 const float* labels,  // labels (N)
                                 float* terms) {       // terms (N)
  for (int64_t n = cuda::grid_start(); n < num; n += cuda::grid_stride()) {
    const int64_t label = class_of(labels[n], classes);
    terms[n] = label < 0 ? NAN : -logf(fmaxf(p[n * classes + label], kLogThreshold));
  }
}

__global__ void mll_backward_kernel(int64_t count, int64_t classes, int64_t num,
                                    const float* p,       // p (N, K)
                                    const float* labels,  // labels (N)
                                    const float* dloss,   // loss weight (1)
                                    float* dp) {          // dp (N, K)
  const float scale = __fdiv_rn(-dloss[0], static_cast<float>(num));
  for (int64_t i = cuda::grid_start(); i < count; i += cuda::grid_stride()) {
    const int64_t n = i / classes, k = i - n * classes;
    const int64_t label = class_of(labels[n], classes);
    dp[i] = label < 0 ? NAN : k == label ? __fdiv_rn(scale, fmaxf(p[i], kLogThreshold)) : 0.0f;
  }
}

}  // namespace

void MultinomialLogisticLossLayer::forward_gpu(const std::vector<Blob*>& bottom,
                                               const std::vector<Blob*>& top, WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "MultinomialLogisticLoss forward");
  float* terms = static_cast<float*>(gpu_terms_.data());
  mll_terms_kernel<<<cuda::grid_for(num_), cuda::kBlockSize, 0, stream>>>(
      num_, classes_, bottom[0]->data(), bottom[1]->data(), terms);
  BANYAN_CUDA_CHECK_LAUNCH();
  gpu_loss_total(num_, terms, false, nullptr, static_cast<double>(num_), gpu_scratch_.data(),
                 top[0]->data(), stream);
}

void MultinomialLogisticLossLayer::backward_gpu(const std::vector<Blob*>& top,
                                                const std::vector<bool>& propagate_down,
                                                const std::vector<Blob*>& bottom,
                                                WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "MultinomialLogisticLoss backward");
  const int64_t count = num_ * classes_;
  mll_backward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      count, classes_, num_, bottom[0]->data(), bottom[1]->data(), top[0]->diff(),
      bottom[0]->diff());
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan
