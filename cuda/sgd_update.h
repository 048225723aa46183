// The solver's per-iteration work on the device, each one fused pass over
// every parameter of a contiguous buffer: gradient scaling (iter_size, or a
// clipping factor read from device memory so clipping needs no host sync),
// the gradients' sum of squares for the clipping norm, and the SGD /
// Nesterov / AdaGrad / Adam updates with L1/L2 decay.  Mirrors
// engine/sgd_update.{h,cc} operation for operation in FP32 (no fused
// multiply-adds), so GPU and CPU updates agree bit for bit.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cuda/memory.h"

namespace banyan::cuda {

// One parameter's slice of the buffers (engine's UpdateSpan) plus its start
// in the packed index space where the spans lie back to back.
struct UpdateSpanDevice {
  int64_t offset = 0;  // floats into data / diff / history
  int64_t count = 0;
  int64_t packed_begin = 0;  // set by UpdateSpanTable::upload
  float lr_mult = 1.0f;
  float decay_mult = 1.0f;
};

enum class SolverKind { kSgd, kNesterov, kAdaGrad, kAdam, kRmsProp, kAdaDelta };

// The hyper-parameters of one step (engine's UpdateRule), passed by value.
struct UpdateHyper {
  SolverKind type = SolverKind::kSgd;
  float lr = 0.0f;
  float momentum = 0.0f;     // SGD / Nesterov momentum; Adam's beta1; AdaDelta's decay
  float momentum2 = 0.999f;  // Adam's beta2
  float delta = 1e-8f;       // AdaGrad / RMSProp / AdaDelta / Adam epsilon
  float rms_decay = 0.99f;   // RMSProp
  float weight_decay = 0.0f;
  bool l1 = false;        // L1 regularisation, else L2
  int64_t iteration = 0;  // Adam's bias correction uses t = iteration + 1
};

// The spans in device memory, uploaded once at setup.
class UpdateSpanTable {
 public:
  UpdateSpanTable() = default;
  UpdateSpanTable(const UpdateSpanTable&) = delete;
  UpdateSpanTable& operator=(const UpdateSpanTable&) = delete;
  UpdateSpanTable(UpdateSpanTable&&) = default;
  UpdateSpanTable& operator=(UpdateSpanTable&&) = default;

  // Computes packed_begin (in the given order), allocates on `device` and
  // copies the spans there, synchronising `stream` (setup only).  False with
  // `*error` on allocation failure.
  bool upload(int device, std::vector<UpdateSpanDevice> spans, cudaStream_t stream,
              std::string* error);

  const UpdateSpanDevice* spans() const { return buffer_.as<UpdateSpanDevice>(); }
  int num_spans() const { return num_spans_; }
  int64_t total() const { return total_; }  // elements over all spans

 private:
  DeviceBuffer buffer_;
  int num_spans_ = 0;
  int64_t total_ = 0;
};

// diff *= scale over every span (iter_size normalisation: scale = 1 / iter_size).
void scale_diffs(const UpdateSpanTable& table, float scale, float* diff, cudaStream_t stream);
// diff *= *scale, the factor read from device memory (e.g. clip_factor's).
void scale_diffs(const UpdateSpanTable& table, const float* scale, float* diff,
                 cudaStream_t stream);

// *result = the sum of squares of every span's gradients, in double,
// deterministic (cuda/reduce.h; partials: kReducePartials doubles).
void diff_sum_squares(const UpdateSpanTable& table, const float* diff, double* partials,
                      double* result, cudaStream_t stream);

// From *sum_squares (device): *norm = sqrt(sum_squares) and *factor = clip /
// norm when norm > clip, else 1 (engine's clip_gradients; the caller skips
// clipping entirely when clip <= 0).  norm may be null.
void clip_factor(const double* sum_squares, float clip, float* factor, double* norm,
                 cudaStream_t stream);

// One update of every span (engine's apply_updates): with lr = hyper.lr *
// lr_mult, decay = weight_decay * decay_mult and g = diff (times *grad_scale
// when grad_scale is not null: a fused scale_diffs that leaves diff as is),
// regularised and applied per engine/sgd_update.h.  history1 is Adam's second
// moment and may be null for the other solvers.
void apply_updates(const UpdateHyper& hyper, const UpdateSpanTable& table, float* data,
                   const float* diff, float* history0, float* history1, const float* grad_scale,
                   cudaStream_t stream);

}  // namespace banyan::cuda
