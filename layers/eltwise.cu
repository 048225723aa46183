// GPU Eltwise.  Forward fuses up to kMaxInputs bottoms per kernel (more are
// folded in by further launches that continue from the top) and combines
// them left to right with non-contracted float operations, so SUM, PROD and
// MAX (ties: lowest index) equal eltwise.cc bit for bit.  Backward: SUM is a
// scaled copy, PROD multiplies dy by the other inputs in order, MAX routes dy
// through the stored winners.
#include "layers/eltwise.h"

#include <algorithm>

#include "cuda/check.h"
#include "cuda/elementwise.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

constexpr int kMaxInputs = 8;

// Up to kMaxInputs bottoms, passed by value as a kernel argument.
struct Inputs {
  const float* x[kMaxInputs];
  float coeff[kMaxInputs];
  int count;
  int first;  // index of x[0] among all the layer's bottoms
};

using Op = EltwiseConfig::Op;

// y (n) = combination of the inputs; `continued` folds them into the
// current y (and argmax) instead of starting from the first input.
template <Op kOp>
__global__ void eltwise_forward_kernel(int64_t n, Inputs in, bool continued,
                                       float* y,        // y (n)
                                       int32_t* arg) {  // arg (n), MAX only
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    int k = 0;
    float acc = 0.0f;
    int32_t best = 0;
    if (continued) {
      acc = y[i];
      if (kOp == Op::kMax) best = arg[i];
    } else {
      acc = kOp == Op::kSum ? __fmul_rn(in.coeff[0], in.x[0][i]) : in.x[0][i];
      best = in.first;
      k = 1;
    }
    for (; k < in.count; ++k) {
      const float v = in.x[k][i];
      if (kOp == Op::kSum) {
        acc = __fadd_rn(acc, __fmul_rn(in.coeff[k], v));
      } else if (kOp == Op::kProd) {
        acc = __fmul_rn(acc, v);
      } else if (v > acc) {
        acc = v;
        best = in.first + k;
      }
    }
    y[i] = acc;
    if (kOp == Op::kMax) arg[i] = best;
  }
}

// dx (n) = dy * (the inputs other than `skip`, in order); `continued`
// multiplies into the current dx instead of starting from dy.
__global__ void eltwise_prod_backward_kernel(int64_t n, Inputs in, int skip, bool continued,
                                             const float* dy,  // dy (n)
                                             float* dx) {      // dx (n)
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    float acc = continued ? dx[i] : dy[i];
    for (int k = 0; k < in.count; ++k) {
      if (in.first + k != skip) acc = __fmul_rn(acc, in.x[k][i]);
    }
    dx[i] = acc;
  }
}

// dx (n) = dy where bottom `index` won the maximum, else 0.
__global__ void eltwise_max_backward_kernel(int64_t n, int32_t index,
                                            const int32_t* arg,  // arg (n)
                                            const float* dy,     // dy (n)
                                            float* dx) {         // dx (n)
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    dx[i] = arg[i] == index ? dy[i] : 0.0f;
  }
}

// Packs bottoms [first, first + kMaxInputs) (their data) with their coefficients.
Inputs pack(const std::vector<Blob*>& bottom, size_t first, const EltwiseConfig& c) {
  Inputs in{};
  in.first = static_cast<int>(first);
  in.count = static_cast<int>(std::min(bottom.size() - first, static_cast<size_t>(kMaxInputs)));
  for (int k = 0; k < in.count; ++k) {
    in.x[k] = bottom[first + k]->data();
    CHECK(in.x[k] != nullptr) << "eltwise: null bottom " << first + k;
    in.coeff[k] = c.coeff.empty() ? 1.0f : c.coeff[first + k];
  }
  return in;
}

template <Op kOp>
void eltwise_forward(int64_t n, const std::vector<Blob*>& bottom, const EltwiseConfig& c, float* y,
                     int32_t* arg, cudaStream_t stream) {
  CHECK_GE(n, 0) << "eltwise_forward";
  cuda::check_stream(stream, "eltwise_forward");
  if (n == 0) return;
  CHECK(y != nullptr && (kOp != Op::kMax || arg != nullptr)) << "eltwise_forward: null output";
  for (size_t first = 0; first < bottom.size(); first += kMaxInputs) {
    eltwise_forward_kernel<kOp><<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(
        n, pack(bottom, first, c), first > 0, y, arg);
    BANYAN_CUDA_CHECK_LAUNCH();
  }
}

void eltwise_prod_backward(int64_t n, const std::vector<Blob*>& bottom, const EltwiseConfig& c,
                           int skip, const float* dy, float* dx, cudaStream_t stream) {
  CHECK_GE(n, 0) << "eltwise_prod_backward";
  cuda::check_stream(stream, "eltwise_prod_backward");
  if (n == 0) return;
  CHECK(dy != nullptr && dx != nullptr) << "eltwise_prod_backward: null pointer";
  for (size_t first = 0; first < bottom.size(); first += kMaxInputs) {
    eltwise_prod_backward_kernel<<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(
        n, pack(bottom, first, c), skip, first > 0, dy, dx);
    BANYAN_CUDA_CHECK_LAUNCH();
  }
}

void eltwise_max_backward(int64_t n, int32_t index, const int32_t* arg, const float* dy, float* dx,
                          cudaStream_t stream) {
  CHECK_GE(n, 0) << "eltwise_max_backward";
  cuda::check_stream(stream, "eltwise_max_backward");
  if (n == 0) return;
  CHECK(arg != nullptr && dy != nullptr && dx != nullptr) << "eltwise_max_backward: null pointer";
  eltwise_max_backward_kernel<<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(n, index, arg, dy,
                                                                                  dx);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void EltwiseLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                               WorkerContext& ctx) {
  const int64_t n = top[0]->count();
  float* y = top[0]->data();
  int32_t* arg = static_cast<int32_t*>(argmax_.data());
  cudaStream_t stream = ctx.gpu().compute();
  const EltwiseConfig& c = config_.eltwise;
  switch (c.operation) {
    case Op::kSum:
      eltwise_forward<Op::kSum>(n, bottom, c, y, arg, stream);
      break;
    case Op::kProd:
      eltwise_forward<Op::kProd>(n, bottom, c, y, arg, stream);
      break;
    case Op::kMax:
      eltwise_forward<Op::kMax>(n, bottom, c, y, arg, stream);
      break;
  }
}

void EltwiseLayer::backward_gpu(const std::vector<Blob*>& top,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  const int64_t n = top[0]->count();
  const float* dy = top[0]->diff();
  cudaStream_t stream = ctx.gpu().compute();
  for (size_t k = 0; k < bottom.size(); ++k) {
    if (!propagate_down[k]) continue;
    float* dx = bottom[k]->diff();
    switch (config_.eltwise.operation) {
      case Op::kSum:
        cuda::copy_scaled(n, coeff(k), dy, dx, stream);
        break;
      case Op::kProd:
        eltwise_prod_backward(n, bottom, config_.eltwise, static_cast<int>(k), dy, dx, stream);
        break;
      case Op::kMax:
        eltwise_max_backward(n, static_cast<int32_t>(k),
                             static_cast<const int32_t*>(argmax_.data()), dy, dx, stream);
        break;
    }
  }
}

}  // namespace banyan
