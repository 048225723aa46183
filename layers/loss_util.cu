// The losses' device total: cuda/reduce.h's deterministic sums of the terms
// (and of the valid flags), then one thread divides, keeping the divisor.
#include "layers/loss_util.h"

#include "cuda/check.h"
#include "cuda/launch.h"
#include "cuda/reduce.h"

namespace banyan {
namespace {

struct LossScratch {
  double partials[cuda::kReducePartials];
  double sum;     // of the terms
  double valid;   // of the valid flags
  float divisor;  // of the last total
};

__global__ void divide_kernel(bool use_valid, double fixed, LossScratch* s, float* loss) {
  const double n = use_valid ? (s->valid > 1.0 ? s->valid : 1.0) : fixed;
  s->divisor = static_cast<float>(n);
  *loss = static_cast<float>(s->sum / n);
}

}  // namespace

size_t gpu_loss_scratch_bytes() { return sizeof(LossScratch); }

void gpu_loss_total(int64_t n, const float* terms, bool square, const float* valid,
                    double fixed_divisor, void* scratch, float* loss, cudaStream_t stream) {
  cuda::check_stream(stream, "gpu_loss_total");
  CHECK(n >= 0 && scratch != nullptr && loss != nullptr) << "gpu_loss_total: bad arguments";
  LossScratch* s = static_cast<LossScratch*>(scratch);
  if (square) {
    cuda::sum_squares(n, terms, s->partials, &s->sum, stream);
  } else {
    cuda::sum(n, terms, s->partials, &s->sum, stream);
  }
  if (valid != nullptr) cuda::sum(n, valid, s->partials, &s->valid, stream);
  divide_kernel<<<1, 1, 0, stream>>>(valid != nullptr, fixed_divisor, s, loss);
  BANYAN_CUDA_CHECK_LAUNCH();
}

const float* gpu_loss_divisor(const void* scratch) {
  return &static_cast<const LossScratch*>(scratch)->divisor;
}

}  // namespace banyan
