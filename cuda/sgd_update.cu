// Fused solver kernels.  Threads walk the packed index space (spans back to
// back, so no thread idles on gaps or skipped parameters) and find their span
// by binary search over packed_begin.  Every multiply/add/divide/sqrt is an
// explicitly rounded intrinsic in the CPU code's order, so nvcc cannot fuse
// them and the results equal engine/sgd_update.cc's.
#include "cuda/sgd_update.h"

#include <cmath>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "cuda/reduce.h"

namespace banyan::cuda {
namespace {

// The span holding packed index p: the last one with packed_begin <= p
// (empty spans share their successor's begin and are passed over).
__device__ __forceinline__ int find_span(const UpdateSpanDevice* spans, int num_spans, int64_t p) {
  int lo = 0, hi = num_spans - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (spans[mid].packed_begin <= p) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

__device__ __forceinline__ int64_t element_of(const UpdateSpanDevice& s, int64_t p) {
  return s.offset + (p - s.packed_begin);
}

// engine/sgd_update.cc's gradient(): diff plus the decay term.
__device__ __forceinline__ float regularised(float g, float w, float decay, bool l1) {
  if (decay == 0.0f) return g;
  if (!l1) return __fadd_rn(g, __fmul_rn(decay, w));
  const float sign = w > 0.0f ? 1.0f : (w < 0.0f ? -1.0f : 0.0f);
  return __fadd_rn(g, __fmul_rn(decay, sign));
}

// Adam's host-side bias-correction terms, as engine/sgd_update.cc computes them.
struct AdamTerms {
  double sqrt_one_minus_b2t = 1.0;  // sqrt(1 - beta2^t)
  double one_minus_b1t = 1.0;       // 1 - beta1^t
};

__global__ void update_kernel(UpdateHyper hp, AdamTerms adam, const UpdateSpanDevice* spans,
                              int num_spans, int64_t total,
                              float* w,                   // w (buffer), spans index into it
                              const float* g,             // g (buffer)
                              float* h0,                  // history0 (buffer)
                              float* h1,                  // history1 (buffer), Adam/AdaDelta
                              const float* grad_scale) {  // (1) or null
  const float gs = grad_scale != nullptr ? *grad_scale : 1.0f;
  for (int64_t p = grid_start(); p < total; p += grid_stride()) {
    const UpdateSpanDevice s = spans[find_span(spans, num_spans, p)];
    const int64_t i = element_of(s, p);
    const float lr = __fmul_rn(hp.lr, s.lr_mult);
    const float decay = __fmul_rn(hp.weight_decay, s.decay_mult);
    const float wi = w[i];
    const float gi =
        regularised(grad_scale != nullptr ? __fmul_rn(g[i], gs) : g[i], wi, decay, hp.l1);
    switch (hp.type) {
      case SolverKind::kSgd: {
        const float v = __fadd_rn(__fmul_rn(hp.momentum, h0[i]), __fmul_rn(lr, gi));
        h0[i] = v;
        w[i] = __fsub_rn(wi, v);
        break;
      }
      case SolverKind::kNesterov: {
        const float v_old = h0[i];
        const float v = __fadd_rn(__fmul_rn(hp.momentum, v_old), __fmul_rn(lr, gi));
        h0[i] = v;
        const float step =
            __fsub_rn(__fmul_rn(__fadd_rn(1.0f, hp.momentum), v), __fmul_rn(hp.momentum, v_old));
        w[i] = __fsub_rn(wi, step);
        break;
      }
      case SolverKind::kAdaGrad: {
        const float h = __fadd_rn(h0[i], __fmul_rn(gi, gi));
        h0[i] = h;
        const float q = __fdiv_rn(gi, __fadd_rn(__fsqrt_rn(h), hp.delta));
        w[i] = __fsub_rn(wi, __fmul_rn(lr, q));
        break;
      }
      case SolverKind::kAdam: {
        const float step = __double2float_rn(__ddiv_rn(
            __dmul_rn(static_cast<double>(lr), adam.sqrt_one_minus_b2t), adam.one_minus_b1t));
        const float b1 = hp.momentum, b2 = hp.momentum2;
        const float m = __fadd_rn(__fmul_rn(b1, h0[i]), __fmul_rn(__fsub_rn(1.0f, b1), gi));
        const float v =
            __fadd_rn(__fmul_rn(b2, h1[i]), __fmul_rn(__fmul_rn(__fsub_rn(1.0f, b2), gi), gi));
        h0[i] = m;
        h1[i] = v;
        const float q = __fdiv_rn(m, __fadd_rn(__fsqrt_rn(v), hp.delta));
        w[i] = __fsub_rn(wi, __fmul_rn(step, q));
        break;
      }
      case SolverKind::kRmsProp: {
        const float d = hp.rms_decay;
        const float h =
            __fadd_rn(__fmul_rn(__fsub_rn(1.0f, d), __fmul_rn(gi, gi)), __fmul_rn(d, h0[i]));
        h0[i] = h;
        const float q = __fdiv_rn(gi, __fadd_rn(__fsqrt_rn(h), hp.delta));
        w[i] = __fsub_rn(wi, __fmul_rn(lr, q));
        break;
      }
      case SolverKind::kAdaDelta: {
        const float m = hp.momentum, one_m = __fsub_rn(1.0f, hp.momentum);
        const float h = __fadd_rn(__fmul_rn(one_m, __fmul_rn(gi, gi)), __fmul_rn(m, h0[i]));
        h0[i] = h;
        const float ratio = __fdiv_rn(__fadd_rn(h1[i], hp.delta), __fadd_rn(h, hp.delta));
        const float u = __fmul_rn(gi, __fsqrt_rn(ratio));
        h1[i] = __fadd_rn(__fmul_rn(one_m, __fmul_rn(u, u)), __fmul_rn(m, h1[i]));
        w[i] = __fsub_rn(wi, __fmul_rn(lr, u));
        break;
      }
    }
  }
}

__global__ void scale_spans_kernel(const UpdateSpanDevice* spans, int num_spans, int64_t total,
                                   float host_scale, const float* device_scale,  // (1) or null
                                   float* diff) {                                // diff (buffer)
  const float a = device_scale != nullptr ? *device_scale : host_scale;
  for (int64_t p = grid_start(); p < total; p += grid_stride()) {
    const int64_t i = element_of(spans[find_span(spans, num_spans, p)], p);
    diff[i] = __fmul_rn(diff[i], a);
  }
}

__global__ void span_squares_kernel(const UpdateSpanDevice* spans, int num_spans, int64_t total,
                                    const float* diff,   // diff (buffer)
                                    double* partials) {  // partials (kReducePartials)
  double acc = 0.0;
  for (int64_t p = grid_start(); p < total; p += grid_stride()) {
    const double v = diff[element_of(spans[find_span(spans, num_spans, p)], p)];
    acc = __dadd_rn(acc, __dmul_rn(v, v));
  }
  const double sum = block_sum<kReducePartials>(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

__global__ void clip_factor_kernel(const double* sum_squares, float clip, float* factor,
                                   double* norm) {  // all (1)
  const double n = __dsqrt_rn(*sum_squares);
  if (norm != nullptr) *norm = n;
  *factor = n > static_cast<double>(clip)
                ? __double2float_rn(__ddiv_rn(static_cast<double>(clip), n))
                : 1.0f;
}

void check_table(const UpdateSpanTable& table, const void* buffer, cudaStream_t stream,
                 const char* op) {
  CHECK(table.total() == 0 || (table.spans() != nullptr && buffer != nullptr))
      << op << ": span table not uploaded or null buffer";
  check_stream(stream, op);
}

}  // namespace

bool UpdateSpanTable::upload(int device, std::vector<UpdateSpanDevice> spans, cudaStream_t stream,
                             std::string* error) {
  int64_t packed = 0;
  for (UpdateSpanDevice& s : spans) {
    CHECK(s.offset >= 0 && s.count >= 0) << "bad span offset " << s.offset << " count " << s.count;
    s.packed_begin = packed;
    packed += s.count;
  }
  if (!buffer_.allocate(device, spans.size() * sizeof(UpdateSpanDevice), error)) return false;
  copy_async(buffer_.data(), spans.data(), buffer_.bytes(), stream);
  BANYAN_CUDA_CHECK(cudaStreamSynchronize(stream));  // `spans` dies at return
  num_spans_ = static_cast<int>(spans.size());
  total_ = packed;
  return true;
}

void scale_diffs(const UpdateSpanTable& table, float scale, float* diff, cudaStream_t stream) {
  check_table(table, diff, stream, "scale_diffs");
  if (table.total() == 0) return;
  scale_spans_kernel<<<grid_for(table.total()), kBlockSize, 0, stream>>>(
      table.spans(), table.num_spans(), table.total(), scale, nullptr, diff);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void scale_diffs(const UpdateSpanTable& table, const float* scale, float* diff,
                 cudaStream_t stream) {
  check_table(table, diff, stream, "scale_diffs");
  CHECK(scale != nullptr) << "scale_diffs: null device scale";
  if (table.total() == 0) return;
  scale_spans_kernel<<<grid_for(table.total()), kBlockSize, 0, stream>>>(
      table.spans(), table.num_spans(), table.total(), 1.0f, scale, diff);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void diff_sum_squares(const UpdateSpanTable& table, const float* diff, double* partials,
                      double* result, cudaStream_t stream) {
  check_table(table, diff, stream, "diff_sum_squares");
  CHECK(partials != nullptr && result != nullptr) << "diff_sum_squares: null partials or result";
  // Runs for total == 0 too (writes zeros), so *result is always defined.
  span_squares_kernel<<<kReducePartials, kReducePartials, 0, stream>>>(
      table.spans(), table.num_spans(), table.total(), diff, partials);
  BANYAN_CUDA_CHECK_LAUNCH();
  sum_partials(partials, result, stream);
}

void clip_factor(const double* sum_squares, float clip, float* factor, double* norm,
                 cudaStream_t stream) {
  CHECK(sum_squares != nullptr && factor != nullptr) << "clip_factor: null pointer";
  CHECK(clip > 0.0f) << "clip_factor: clip must be > 0 (skip clipping otherwise), got " << clip;
  check_stream(stream, "clip_factor");
  clip_factor_kernel<<<1, 1, 0, stream>>>(sum_squares, clip, factor, norm);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void apply_updates(const UpdateHyper& hyper, const UpdateSpanTable& table, float* data,
                   const float* diff, float* history0, float* history1, const float* grad_scale,
                   cudaStream_t stream) {
  check_table(table, data, stream, "apply_updates");
  if (table.total() == 0) return;
  CHECK(diff != nullptr && history0 != nullptr) << "apply_updates: null diff or history";
  AdamTerms adam;
  CHECK(history1 != nullptr ||
        (hyper.type != SolverKind::kAdam && hyper.type != SolverKind::kAdaDelta))
      << "Adam and AdaDelta need a second history array";
  if (hyper.type == SolverKind::kAdam) {
    const double t = static_cast<double>(hyper.iteration) + 1.0;
    adam.sqrt_one_minus_b2t = std::sqrt(1.0 - std::pow(hyper.momentum2, t));
    adam.one_minus_b1t = 1.0 - std::pow(hyper.momentum, t);
  }
  update_kernel<<<grid_for(table.total()), kBlockSize, 0, stream>>>(
      hyper, adam, table.spans(), table.num_spans(), table.total(), data, diff, history0, history1,
      grad_scale);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan::cuda
