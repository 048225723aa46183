// GPU SigmoidCrossEntropyLoss: per-position terms and valid flags, the two
// deterministic sums of cuda/reduce.h, one thread forming the normalizer
// and the loss; backward reads the normalizer and the loss weight on the
// device.  No host sync.
#include "layers/sigmoid_cross_entropy_loss.h"

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "cuda/reduce.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

__global__ void terms_kernel(int64_t n, bool has_ignore, float ignore,
                             const float* x,  // scores (n)
                             const float* t,  // targets (n)
                             float* terms,    // loss terms (n)
                             float* valid) {  // 1 / 0 (n)
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    const bool skip = has_ignore && t[i] == ignore;
    terms[i] = skip ? 0.0f : sigmoid_cross_entropy(x[i], t[i]);
    valid[i] = skip ? 0.0f : 1.0f;
  }
}

// sums: (loss sum, valid count); writes the normalizer to sums[2].
__global__ void loss_kernel(int mode, double count, double num, double* sums, float* loss) {
  double n = 1.0;
  if (mode == 0) n = count;    // FULL
  if (mode == 1) n = sums[1];  // VALID
  if (mode == 2) n = num;      // BATCH_SIZE
  n = n >= 1.0 ? n : 1.0;
  sums[2] = n;
  *loss = static_cast<float>(sums[0] / n);
}

__global__ void gradient_kernel(int64_t n, bool has_ignore, float ignore,
                                const float* top_diff,  // the loss weight (1)
                                const double* sums,     // sums[2]: the normalizer
                                const float* x,         // scores (n)
                                const float* t,         // targets (n)
                                float* dx) {            // (n)
  const float scale = static_cast<float>(*top_diff / sums[2]);
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    const bool skip = has_ignore && t[i] == ignore;
    dx[i] = skip ? 0.0f : scale * (neuron_forward<NeuronOp::kSigmoid>(x[i], {}) - t[i]);
  }
}

int mode_index(LossConfig::Normalization m) {
  switch (m) {
    case LossConfig::Normalization::kFull:
      return 0;
    case LossConfig::Normalization::kValid:
      return 1;
    case LossConfig::Normalization::kBatchSize:
      return 2;
    case LossConfig::Normalization::kNone:
      return 3;
  }
  return 3;
}

}  // namespace

void SigmoidCrossEntropyLossLayer::forward_gpu(const std::vector<Blob*>& bottom,
                                               const std::vector<Blob*>& top, WorkerContext& ctx) {
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "SigmoidCrossEntropyLoss forward");
  const int64_t n = bottom[0]->count();
  float* terms = static_cast<float*>(terms_.data());
  double* partials = static_cast<double*>(scratch_.data());
  double* sums = partials + cuda::kReducePartials;
  const auto& ignore = config_.loss.ignore_label;
  if (n > 0) {
    terms_kernel<<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(
        n, ignore.has_value(), ignore.has_value() ? static_cast<float>(*ignore) : 0.0f,
        bottom[0]->data(), bottom[1]->data(), terms, terms + n);
    BANYAN_CUDA_CHECK_LAUNCH();
  }
  cuda::sum(n, terms, partials, sums, stream);
  cuda::sum(n, terms + n, partials, sums + 1, stream);
  loss_kernel<<<1, 1, 0, stream>>>(mode_index(mode_), static_cast<double>(n),
                                   static_cast<double>(num_), sums, top[0]->data());
  BANYAN_CUDA_CHECK_LAUNCH();
}

void SigmoidCrossEntropyLossLayer::backward_gpu(const std::vector<Blob*>& top,
                                                const std::vector<bool>& propagate_down,
                                                const std::vector<Blob*>& bottom,
                                                WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "SigmoidCrossEntropyLoss backward");
  const int64_t n = bottom[0]->count();
  if (n == 0) return;
  const auto& ignore = config_.loss.ignore_label;
  const double* sums = static_cast<const double*>(scratch_.data()) + cuda::kReducePartials;
  gradient_kernel<<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(
      n, ignore.has_value(), ignore.has_value() ? static_cast<float>(*ignore) : 0.0f,
      top[0]->diff(), sums, bottom[0]->data(), bottom[1]->data(), bottom[0]->diff());
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan
