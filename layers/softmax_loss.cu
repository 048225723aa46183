// GPU SoftmaxWithLoss: a stable softmax kernel (a warp per position when the
// classes are contiguous, a thread per position otherwise), a deterministic
// two-pass loss reduction on a fixed grid (no atomics: bitwise the same run to
// run), and the fused gradient.  The loss and the normalizer stay on the
// device; nothing is read back to the host.
#include "layers/softmax_loss.h"

#include <cfloat>
#include <cmath>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "cuda/memory.h"
#include "engine/core/gpu_resources.h"
#include "layers/softmax.h"

namespace banyan {
namespace {

// Blocks of the loss's first pass = threads of the second.
constexpr int kLossParts = 256;
constexpr int kWarp = 32;

// Layer-owned device scratch (gpu_scratch_).
struct LossScratch {
  double2 partials[kLossParts];  // (loss sum, valid positions) per block of pass 1
  float normalizer;              // of the last forward, read by backward
};

// Class of label value v: the class id, kIgnored, or kInvalid (not an
// integer in [0, channels)).  Mirrors SoftmaxWithLossLayer::is_ignored.
constexpr int64_t kIgnored = -1, kInvalid = -2;
__device__ __forceinline__ int64_t label_class(float v, bool has_ignore, float ignore,
                                               int64_t channels) {
  if (has_ignore && v == ignore) return kIgnored;
  if (!(v >= 0.0f && v < static_cast<float>(channels) && v == floorf(v))) return kInvalid;
  return static_cast<int64_t>(v);
}

// Warp-wide max and sum by butterfly; every lane gets the same value.
__device__ __forceinline__ float warp_max(float v) {
  for (int s = kWarp / 2; s > 0; s /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, s));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int s = kWarp / 2; s > 0; s /= 2) v = __fadd_rn(v, __shfl_xor_sync(0xffffffffu, v, s));
  return v;
}

// inner == 1: one warp per row of `channels` contiguous scores.
__global__ void softmax_warp_kernel(int64_t outer, int64_t channels,
                                    const float* x,  // x (outer, channels)
                                    float* prob) {   // prob (outer, channels)
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const int64_t warps = cuda::grid_stride() / kWarp;
  for (int64_t o = cuda::grid_start() / kWarp; o < outer; o += warps) {
    const float* xo = x + o * channels;
    float* po = prob + o * channels;
    float m = -INFINITY;
    for (int64_t c = lane; c < channels; c += kWarp) m = fmaxf(m, xo[c]);
    m = warp_max(m);
    float sum = 0.0f;
    for (int64_t c = lane; c < channels; c += kWarp) {
      const float e = expf(__fsub_rn(xo[c], m));
      po[c] = e;
      sum = __fadd_rn(sum, e);
    }
    const float inv = __fdiv_rn(1.0f, warp_sum(sum));
    for (int64_t c = lane; c < channels; c += kWarp) po[c] = __fmul_rn(po[c], inv);
  }
}

// inner > 1: one thread per position (o, i); neighbouring threads read
// neighbouring i, so the loads coalesce.
__global__ void softmax_thread_kernel(int64_t outer, int64_t channels, int64_t inner,
                                      const float* x,  // x (outer, channels, inner)
                                      float* prob) {   // prob (outer, channels, inner)
  const int64_t positions = outer * inner;
  for (int64_t t = cuda::grid_start(); t < positions; t += cuda::grid_stride()) {
    const int64_t o = t / inner, i = t - o * inner;
    const float* xo = x + o * channels * inner + i;
    float* po = prob + o * channels * inner + i;
    float m = xo[0];
    for (int64_t c = 1; c < channels; ++c) m = fmaxf(m, xo[c * inner]);
    float sum = 0.0f;
    for (int64_t c = 0; c < channels; ++c) {
      const float e = expf(__fsub_rn(xo[c * inner], m));
      po[c * inner] = e;
      sum = __fadd_rn(sum, e);
    }
    const float inv = __fdiv_rn(1.0f, sum);
    for (int64_t c = 0; c < channels; ++c) po[c * inner] = __fmul_rn(po[c * inner], inv);
  }
}

// Sum over the kThreads threads of the block in a fixed tree; thread 0 gets
// the result.  Once per kernel.
template <int kThreads>
__device__ double2 block_sum2(double2 v) {
  __shared__ double2 partial[kThreads];
  partial[threadIdx.x] = v;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) {
      partial[threadIdx.x].x = __dadd_rn(partial[threadIdx.x].x, partial[threadIdx.x + stride].x);
      partial[threadIdx.x].y = __dadd_rn(partial[threadIdx.x].y, partial[threadIdx.x + stride].y);
    }
    __syncthreads();
  }
  return partial[0];
}

// Pass 1 (kLossParts blocks of kLossParts threads): per block, the sum of
// -log(max(p[label], FLT_MIN)) and the number of non-ignored positions.  An
// invalid label adds NaN, so the loss becomes NaN.
__global__ void loss_partials_kernel(int64_t outer, int64_t channels, int64_t inner,
                                     bool has_ignore, float ignore,
                                     const float* prob,    // prob (outer, channels, inner)
                                     const float* labels,  // labels (outer * inner)
                                     LossScratch* scratch) {
  const int64_t positions = outer * inner;
  double2 acc = make_double2(0.0, 0.0);
  for (int64_t t = cuda::grid_start(); t < positions; t += cuda::grid_stride()) {
    const int64_t label = label_class(labels[t], has_ignore, ignore, channels);
    if (label == kIgnored) continue;
    if (label == kInvalid) {
      acc.x = __dadd_rn(acc.x, static_cast<double>(NAN));
      continue;
    }
    const int64_t o = t / inner, i = t - o * inner;
    const float p = prob[(o * channels + label) * inner + i];
    acc.x = __dsub_rn(acc.x, static_cast<double>(logf(fmaxf(p, FLT_MIN))));
    acc.y = __dadd_rn(acc.y, 1.0);
  }
  const double2 total = block_sum2<kLossParts>(acc);
  if (threadIdx.x == 0) scratch->partials[blockIdx.x] = total;
}

// Pass 2 (one block of kLossParts threads): loss = sum / normalizer, where
// the normalizer is the valid count (use_valid) or `fixed`, 0 taken as 1.
__global__ void loss_finalize_kernel(bool use_valid, double fixed, LossScratch* scratch,
                                     float* loss) {  // loss (1)
  const double2 total = block_sum2<kLossParts>(scratch->partials[threadIdx.x]);
  if (threadIdx.x != 0) return;
  const double n = use_valid ? total.y : fixed;
  const float normalizer = static_cast<float>(n > 0.0 ? n : 1.0);
  scratch->normalizer = normalizer;
  *loss = static_cast<float>(__ddiv_rn(total.x, static_cast<double>(normalizer)));
}

// dx = (p - onehot(label)) * dloss / normalizer; 0 at ignored positions, NaN
// at invalid ones.
__global__ void loss_backward_kernel(int64_t outer, int64_t channels, int64_t inner,
                                     bool has_ignore, float ignore,
                                     const float* prob,    // prob (outer, channels, inner)
                                     const float* labels,  // labels (outer * inner)
                                     const float* dloss,   // dloss (1)
                                     const LossScratch* scratch,
                                     float* dx) {  // dx (outer, channels, inner)
  const float scale = __fdiv_rn(dloss[0], scratch->normalizer);
  const int64_t count = outer * channels * inner;
  for (int64_t k = cuda::grid_start(); k < count; k += cuda::grid_stride()) {
    const int64_t o = k / (channels * inner), rest = k - o * channels * inner;
    const int64_t c = rest / inner, i = rest - c * inner;
    const int64_t label = label_class(labels[o * inner + i], has_ignore, ignore, channels);
    if (label == kIgnored) {
      dx[k] = 0.0f;
    } else if (label == kInvalid) {
      dx[k] = NAN;
    } else {
      dx[k] = __fmul_rn(scale, __fsub_rn(prob[k], c == label ? 1.0f : 0.0f));
    }
  }
}

void softmax(int64_t outer, int64_t channels, int64_t inner, const float* x, float* prob,
             cudaStream_t stream) {
  CHECK(outer >= 0 && channels > 0 && inner >= 0)
      << "softmax: shape " << outer << " x " << channels << " x " << inner;
  cuda::check_stream(stream, "softmax");
  if (outer * inner == 0) return;
  CHECK(x != nullptr && prob != nullptr) << "softmax: null pointer";
  if (inner == 1) {
    softmax_warp_kernel<<<cuda::grid_for(outer * kWarp), cuda::kBlockSize, 0, stream>>>(
        outer, channels, x, prob);
  } else {
    softmax_thread_kernel<<<cuda::grid_for(outer * inner), cuda::kBlockSize, 0, stream>>>(
        outer, channels, inner, x, prob);
  }
  BANYAN_CUDA_CHECK_LAUNCH();
}

void softmax_loss(int64_t outer, int64_t channels, int64_t inner, bool has_ignore, float ignore,
                  bool use_valid, double fixed, const float* prob, const float* labels,
                  LossScratch* scratch, float* loss, cudaStream_t stream) {
  CHECK(outer >= 0 && channels > 0 && inner >= 0) << "softmax_loss: shape";
  cuda::check_stream(stream, "softmax_loss");
  CHECK(scratch != nullptr && loss != nullptr) << "softmax_loss: null scratch or loss";
  CHECK(outer * inner == 0 || (prob != nullptr && labels != nullptr)) << "softmax_loss: null input";
  // Runs even without positions: the loss is then 0.
  loss_partials_kernel<<<kLossParts, kLossParts, 0, stream>>>(outer, channels, inner, has_ignore,
                                                              ignore, prob, labels, scratch);
  BANYAN_CUDA_CHECK_LAUNCH();
  loss_finalize_kernel<<<1, kLossParts, 0, stream>>>(use_valid, fixed, scratch, loss);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void softmax_loss_backward(int64_t outer, int64_t channels, int64_t inner, bool has_ignore,
                           float ignore, const float* prob, const float* labels, const float* dloss,
                           const LossScratch* scratch, float* dx, cudaStream_t stream) {
  CHECK(outer >= 0 && channels > 0 && inner >= 0) << "softmax_loss_backward: shape";
  cuda::check_stream(stream, "softmax_loss_backward");
  const int64_t count = outer * channels * inner;
  if (count == 0) return;
  CHECK(prob != nullptr && labels != nullptr && dloss != nullptr && scratch != nullptr &&
        dx != nullptr)
      << "softmax_loss_backward: null pointer";
  loss_backward_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(
      outer, channels, inner, has_ignore, ignore, prob, labels, dloss, scratch, dx);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void softmax_gpu(const float* x, int64_t outer, int64_t channels, int64_t inner, float* y,
                 cudaStream_t stream) {
  softmax(outer, channels, inner, x, y, stream);
}

Status SoftmaxWithLossLayer::setup_gpu() {
  return Buffer::allocate(device(), sizeof(LossScratch), &gpu_scratch_)
      .with_context("layer '" + name() + "' (SoftmaxWithLoss) loss scratch");
}

void SoftmaxWithLossLayer::forward_gpu(const std::vector<Blob*>& bottom,
                                       const std::vector<Blob*>& top, WorkerContext& ctx) {
  cudaStream_t stream = ctx.gpu().compute();
  float* prob = static_cast<float*>(prob_.data());
  softmax(outer_, channels_, inner_, bottom[0]->data(), prob, stream);
  // The normalizer as normalizer() computes it, except VALID, known only on the device.
  const bool use_valid = config_.loss.normalization == LossConfig::Normalization::kValid;
  const double fixed = use_valid ? 1.0 : static_cast<double>(normalizer(0));
  const auto& ignore = config_.loss.ignore_label;
  softmax_loss(outer_, channels_, inner_, ignore.has_value(),
               ignore.has_value() ? static_cast<float>(*ignore) : 0.0f, use_valid, fixed, prob,
               bottom[1]->data(), static_cast<LossScratch*>(gpu_scratch_.data()), top[0]->data(),
               stream);
  if (top.size() > 1) {
    cuda::copy_async(top[1]->data(), prob, static_cast<size_t>(top[1]->count()) * sizeof(float),
                     stream);
  }
}

void SoftmaxWithLossLayer::backward_gpu(const std::vector<Blob*>& top,
                                        const std::vector<bool>& propagate_down,
                                        const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  const auto& ignore = config_.loss.ignore_label;
  softmax_loss_backward(outer_, channels_, inner_, ignore.has_value(),
                        ignore.has_value() ? static_cast<float>(*ignore) : 0.0f,
                        static_cast<const float*>(prob_.data()), bottom[1]->data(), top[0]->diff(),
                        static_cast<const LossScratch*>(gpu_scratch_.data()), bottom[0]->diff(),
                        ctx.gpu().compute());
}

}  // namespace banyan
