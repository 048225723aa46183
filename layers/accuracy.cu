// GPU Accuracy: one thread per position counts the classes scoring strictly
// above the label (as accuracy.cc does); integer atomics gather per-class
// and total counts (exact, so deterministic), and one small block turns them
// into the outputs on the device.  Simple rather than fast: it runs in test
// passes.
#include "layers/accuracy.h"

#include <cmath>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

using Count = unsigned long long;  // what atomicAdd takes for 64-bit integers

// Layout of the counters (class_counts_): occurrences (C), correct (C), then
// the totals.
struct Counters {
  Count* occurrences;
  Count* correct_per_class;
  Count* totals;  // valid, correct, invalid labels
};

Counters counters_of(void* base, int64_t channels) {
  Count* p = static_cast<Count*>(base);
  return Counters{p, p + channels, p + 2 * channels};
}

__global__ void accuracy_count_kernel(int64_t outer, int64_t channels, int64_t inner, int64_t k,
                                      bool has_ignore, float ignore,
                                      const float* scores,  // scores (outer, channels, inner)
                                      const float* labels,  // labels (outer * inner)
                                      Counters counts) {
  const int64_t positions = outer * inner;
  // The block moves through the positions together so that every thread
  // reaches the block-wide counts below.
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * blockDim.x; base < positions;
       base += cuda::grid_stride()) {
    const int64_t t = base + threadIdx.x;
    int valid = 0, hit = 0, invalid = 0;
    if (t < positions) {
      const float v = labels[t];
      const bool ignored = has_ignore && v == ignore;
      if (!ignored && !(v >= 0.0f && v < static_cast<float>(channels) && v == floorf(v))) {
        invalid = 1;
      } else if (!ignored) {
        const int64_t label = static_cast<int64_t>(v);
        const int64_t o = t / inner, i = t - o * inner;
        const float* so = scores + o * channels * inner + i;
        const float target = so[label * inner];
        int64_t greater = 0;
        for (int64_t c = 0; c < channels; ++c) greater += so[c * inner] > target ? 1 : 0;
        valid = 1;
        hit = greater < k ? 1 : 0;
        atomicAdd(&counts.occurrences[label], Count{1});
        if (hit) atomicAdd(&counts.correct_per_class[label], Count{1});
      }
    }
    const int block_valid = __syncthreads_count(valid);
    const int block_hit = __syncthreads_count(hit);
    const int block_invalid = __syncthreads_count(invalid);
    if (threadIdx.x == 0) {
      if (block_valid > 0) atomicAdd(&counts.totals[0], static_cast<Count>(block_valid));
      if (block_hit > 0) atomicAdd(&counts.totals[1], static_cast<Count>(block_hit));
      if (block_invalid > 0) atomicAdd(&counts.totals[2], static_cast<Count>(block_invalid));
    }
  }
}

// accuracy (1) and, when per_class is given, per_class (C); all NaN when a
// label was invalid.
__global__ void accuracy_finalize_kernel(int64_t channels, Counters counts,
                                         float* accuracy,     // accuracy (1)
                                         float* per_class) {  // per_class (C) or null
  const bool broken = counts.totals[2] > 0;
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    const Count valid = counts.totals[0];
    *accuracy = broken       ? NAN
                : valid == 0 ? 0.0f
                             : static_cast<float>(__ddiv_rn(static_cast<double>(counts.totals[1]),
                                                            static_cast<double>(valid)));
  }
  if (per_class == nullptr) return;
  for (int64_t c = cuda::grid_start(); c < channels; c += cuda::grid_stride()) {
    const Count n = counts.occurrences[c];
    per_class[c] =
        broken   ? NAN
        : n == 0 ? 0.0f
                 : static_cast<float>(__ddiv_rn(static_cast<double>(counts.correct_per_class[c]),
                                                static_cast<double>(n)));
  }
}

void top_k_accuracy(int64_t outer, int64_t channels, int64_t inner, int64_t k, bool has_ignore,
                    float ignore, const float* scores, const float* labels, Counters counts,
                    float* top_accuracy, float* per_class, cudaStream_t stream) {
  CHECK(outer >= 0 && channels > 0 && inner >= 0 && k >= 1) << "accuracy: shape or top_k";
  cuda::check_stream(stream, "accuracy");
  CHECK(top_accuracy != nullptr && counts.occurrences != nullptr) << "accuracy: null output";
  const int64_t positions = outer * inner;
  CHECK(positions == 0 || (scores != nullptr && labels != nullptr)) << "accuracy: null input";
  BANYAN_CUDA_CHECK(
      cudaMemsetAsync(counts.occurrences, 0, (2 * channels + 3) * sizeof(Count), stream));
  if (positions > 0) {
    accuracy_count_kernel<<<cuda::grid_for(positions), cuda::kBlockSize, 0, stream>>>(
        outer, channels, inner, k, has_ignore, ignore, scores, labels, counts);
    BANYAN_CUDA_CHECK_LAUNCH();
  }
  accuracy_finalize_kernel<<<cuda::grid_for(channels), cuda::kBlockSize, 0, stream>>>(
      channels, counts, top_accuracy, per_class);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void AccuracyLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                WorkerContext& ctx) {
  const auto& ignore = config_.accuracy.ignore_label;
  top_k_accuracy(outer_, channels_, inner_, config_.accuracy.top_k, ignore.has_value(),
                 ignore.has_value() ? static_cast<float>(*ignore) : 0.0f, bottom[0]->data(),
                 bottom[1]->data(), counters_of(class_counts_.data(), channels_), top[0]->data(),
                 top.size() > 1 ? top[1]->data() : nullptr, ctx.gpu().compute());
}

}  // namespace banyan
