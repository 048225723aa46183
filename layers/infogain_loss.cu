// GPU InfogainLoss: the softmax SoftmaxWithLoss uses (softmax_gpu), one
// thread per position writing its H-weighted term and valid flag, the
// deterministic device total of layers/loss_util.h (the VALID count summed
// on the device too), and the gradient from H's row sums.  Nothing is read
// back to the host; an invalid label yields NaN.
#include "layers/infogain_loss.h"

#include <cmath>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "cuda/memory.h"
#include "engine/core/gpu_resources.h"
#include "layers/loss_util.cuh"
#include "layers/loss_util.h"
#include "layers/softmax.h"

namespace banyan {
namespace {

constexpr int64_t kIgnored = -2;

__device__ __forceinline__ int64_t position_class(float v, bool has_ignore, float ignore,
                                                  int64_t classes) {
  return has_ignore && v == ignore ? kIgnored : class_of(v, classes);
}

// Per position t = (o, i): term = -sum_k H[label, k] log(max(p, 1e-20)) (in
// double, stored as float), valid = 1; ignored: 0, 0; invalid: NaN, 1.
__global__ void infogain_terms_kernel(int64_t outer, int64_t classes, int64_t inner,
                                      bool has_ignore, float ignore,
                                      const float* prob,    // prob (outer, K, inner)
                                      const float* labels,  // labels (outer * inner)
                                      const float* h,       // H (K, K)
                                      float* terms,         // terms (outer * inner)
                                      float* valid) {       // valid (outer * inner)
  const int64_t positions = outer * inner;
  for (int64_t t = cuda::grid_start(); t < positions; t += cuda::grid_stride()) {
    const int64_t l = position_class(labels[t], has_ignore, ignore, classes);
    if (l == kIgnored || l < 0) {
      terms[t] = l == kIgnored ? 0.0f : NAN;
      valid[t] = l == kIgnored ? 0.0f : 1.0f;
      continue;
    }
    const int64_t o = t / inner, i = t - o * inner;
    const float* p = prob + o * classes * inner + i;
    double term = 0.0;
    for (int64_t k = 0; k < classes; ++k) {
      const double lp = logf(fmaxf(p[k * inner], kLogThreshold));
      term = __dsub_rn(term, __dmul_rn(static_cast<double>(h[l * classes + k]), lp));
    }
    terms[t] = static_cast<float>(term);
    valid[t] = 1.0f;
  }
}

// rows[l] = sum_k H[l, k], in double.
__global__ void row_sums_kernel(int64_t classes, const float* h, float* rows) {
  for (int64_t l = cuda::grid_start(); l < classes; l += cuda::grid_stride()) {
    double s = 0.0;
    for (int64_t k = 0; k < classes; ++k) s = __dadd_rn(s, static_cast<double>(h[l * classes + k]));
    rows[l] = static_cast<float>(s);
  }
}

__global__ void infogain_backward_kernel(int64_t outer, int64_t classes, int64_t inner,
                                         bool has_ignore, float ignore,
                                         const float* prob,     // prob (outer, K, inner)
                                         const float* labels,   // labels (outer * inner)
                                         const float* h,        // H (K, K)
                                         const float* rows,     // row sums of H (K)
                                         const float* dloss,    // loss weight (1)
                                         const float* divisor,  // normalizer (1)
                                         float* dx) {           // dx (outer, K, inner)
  const float scale = __fdiv_rn(dloss[0], divisor[0]);
  const int64_t count = outer * classes * inner;
  for (int64_t j = cuda::grid_start(); j < count; j += cuda::grid_stride()) {
    const int64_t o = j / (classes * inner), rest = j - o * classes * inner;
    const int64_t k = rest / inner, i = rest - k * inner;
    const int64_t l = position_class(labels[o * inner + i], has_ignore, ignore, classes);
    if (l == kIgnored) {
      dx[j] = 0.0f;
    } else if (l < 0) {
      dx[j] = NAN;
    } else {
      dx[j] = __fmul_rn(scale, __fsub_rn(__fmul_rn(prob[j], rows[l]), h[l * classes + k]));
    }
  }
}

}  // namespace

Status InfogainLossLayer::setup_gpu() {
  const size_t positions = static_cast<size_t>(outer_ * inner_);
  const std::string what = "layer '" + name() + "' (InfogainLoss) scratch";
  BANYAN_RETURN_IF_ERROR(
      Buffer::allocate(device(), positions * sizeof(float), &gpu_terms_).with_context(what));
  BANYAN_RETURN_IF_ERROR(
      Buffer::allocate(device(), positions * sizeof(float), &gpu_valid_).with_context(what));
  BANYAN_RETURN_IF_ERROR(
      Buffer::allocate(device(), static_cast<size_t>(classes_) * sizeof(float), &gpu_rows_)
          .with_context(what));
  return Buffer::allocate(device(), gpu_loss_scratch_bytes(), &gpu_scratch_).with_context(what);
}

void InfogainLossLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                    WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "InfogainLoss forward");
  float* prob = static_cast<float*>(prob_.data());
  softmax_gpu(bottom[0]->data(), outer_, classes_, inner_, prob, stream);
  const auto& ignore = config_.loss.ignore_label;
  const int64_t positions = outer_ * inner_;
  float* terms = static_cast<float*>(gpu_terms_.data());
  float* valid = static_cast<float*>(gpu_valid_.data());
  if (positions > 0) {
    infogain_terms_kernel<<<cuda::grid_for(positions), cuda::kBlockSize, 0, stream>>>(
        outer_, classes_, inner_, ignore.has_value(),
        ignore.has_value() ? static_cast<float>(*ignore) : 0.0f, prob, bottom[1]->data(),
        matrix(bottom), terms, valid);
    BANYAN_CUDA_CHECK_LAUNCH();
  }
  const bool use_valid = config_.loss.normalization == LossConfig::Normalization::kValid;
  gpu_loss_total(positions, terms, false, use_valid ? valid : nullptr, fixed_normalizer(),
                 gpu_scratch_.data(), top[0]->data(), stream);
  if (top.size() > 1) {
    cuda::copy_async(top[1]->data(), prob, static_cast<size_t>(top[1]->count()) * sizeof(float),
                     stream);
  }
}

void InfogainLossLayer::backward_gpu(const std::vector<Blob*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "InfogainLoss backward");
  float* rows = static_cast<float*>(gpu_rows_.data());
  row_sums_kernel<<<cuda::grid_for(classes_), cuda::kBlockSize, 0, stream>>>(classes_,
                                                                             matrix(bottom), rows);
  BANYAN_CUDA_CHECK_LAUNCH();
  const int64_t count = outer_ * classes_ * inner_;
  if (count == 0) return;
  const auto& ignore = config_.loss.ignore_label;
  infogain_backward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      outer_, classes_, inner_, ignore.has_value(),
      ignore.has_value() ? static_cast<float>(*ignore) : 0.0f,
      static_cast<const float*>(prob_.data()), bottom[1]->data(), matrix(bottom), rows,
      top[0]->diff(), gpu_loss_divisor(gpu_scratch_.data()), bottom[0]->diff());
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan
