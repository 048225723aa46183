// GPU elementwise layers: one grid-stride kernel each way per op, on the
// functions of neuron_math.h (the CPU's expressions; results agree with the
// CPU up to the device's transcendental functions).  In place is safe:
// every thread reads its element before writing it (no __restrict__).
#include "layers/neuron.h"

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

template <NeuronOp kOp>
__global__ void neuron_forward_kernel(int64_t n, NeuronArgs a,
                                      const float* x,  // x (n)
                                      float* y) {      // y (n), may alias x
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    y[i] = neuron_forward<kOp>(x[i], a);
  }
}

template <NeuronOp kOp>
__global__ void neuron_backward_kernel(int64_t n, NeuronArgs a,
                                       const float* x,   // x (n), or y in place
                                       const float* y,   // y (n)
                                       const float* dy,  // dy (n)
                                       float* dx) {      // dx (n), may alias dy
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    dx[i] = neuron_backward<kOp>(x[i], y[i], dy[i], a);
  }
}

template <NeuronOp kOp>
void launch_forward(int64_t n, const NeuronArgs& a, const float* x, float* y, cudaStream_t stream) {
  neuron_forward_kernel<kOp><<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(n, a, x, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

template <NeuronOp kOp>
void launch_backward(int64_t n, const NeuronArgs& a, const float* x, const float* y,
                     const float* dy, float* dx, cudaStream_t stream) {
  neuron_backward_kernel<kOp>
      <<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(n, a, x, y, dy, dx);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void NeuronLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                              WorkerContext& ctx) {
  const int64_t n = bottom[0]->count();
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "neuron forward");
  if (n == 0) return;
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
#define BANYAN_FORWARD(kOp) launch_forward<kOp>(n, args_, x, y, stream)
  BANYAN_NEURON_SWITCH(op_, BANYAN_FORWARD)
#undef BANYAN_FORWARD
}

void NeuronLayer::backward_gpu(const std::vector<Blob*>& top,
                               const std::vector<bool>& propagate_down,
                               const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  const int64_t n = bottom[0]->count();
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "neuron backward");
  if (n == 0) return;
  const float* x = bottom[0]->data();
  const float* y = top[0]->data();
  const float* dy = top[0]->diff();
  float* dx = bottom[0]->diff();
#define BANYAN_BACKWARD(kOp) launch_backward<kOp>(n, args_, x, y, dy, dx, stream)
  BANYAN_NEURON_SWITCH(op_, BANYAN_BACKWARD)
#undef BANYAN_BACKWARD
}

}  // namespace banyan
