// GPU InnerProduct: the CPU's three GEMMs through cuda::gemm (cuBLAS, same
// row-major arguments), plus two small kernels for the bias: a broadcast add
// and a column sum in double with a fixed order (deterministic, no atomics).
#include "layers/inner_product.h"

#include <glog/logging.h>

#include "cuda/check.h"
#include "cuda/gemm.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

// y[m, o] += b[o]
__global__ void add_bias_kernel(int64_t n, int outputs,
                                const float* bias,  // b (N)
                                float* y) {         // y (M, N)
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    y[i] = __fadd_rn(y[i], bias[i % outputs]);
  }
}

// A block sums kBiasColumns columns of dy; its kBiasLanes rows of threads
// each take every kBiasLanes-th row (coalesced across the columns), then
// lane 0 adds the lanes' partial sums in lane order.
constexpr int kBiasColumns = 32;
constexpr int kBiasLanes = 8;

// db[o] += sum over m of dy[m, o], accumulated in double.
__global__ void bias_grad_kernel(int rows, int outputs,
                                 const float* dy,     // dy (M, N)
                                 float* bias_diff) {  // db (N)
  __shared__ double partial[kBiasLanes][kBiasColumns];
  const int o = blockIdx.x * kBiasColumns + threadIdx.x;
  double sum = 0.0;
  if (o < outputs) {
    for (int64_t m = threadIdx.y; m < rows; m += kBiasLanes) sum += dy[m * outputs + o];
  }
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || o >= outputs) return;
  double total = 0.0;
  for (int lane = 0; lane < kBiasLanes; ++lane) total += partial[lane][threadIdx.x];
  bias_diff[o] = __fadd_rn(bias_diff[o], static_cast<float>(total));
}

void add_bias(int rows, int outputs, const float* bias, float* y, cudaStream_t stream) {
  cuda::check_stream(stream, "inner product bias");
  const int64_t n = static_cast<int64_t>(rows) * outputs;
  if (n == 0) return;
  add_bias_kernel<<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(n, outputs, bias, y);
  BANYAN_CUDA_CHECK_LAUNCH();
}

void bias_grad(int rows, int outputs, const float* dy, float* bias_diff, cudaStream_t stream) {
  cuda::check_stream(stream, "inner product bias gradient");
  if (outputs == 0) return;
  const dim3 block(kBiasColumns, kBiasLanes);
  const unsigned blocks = static_cast<unsigned>((outputs + kBiasColumns - 1) / kBiasColumns);
  bias_grad_kernel<<<blocks, block, 0, stream>>>(rows, outputs, dy, bias_diff);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void InnerProductLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                    WorkerContext& ctx) {
  const GpuResources& gpu = ctx.gpu();
  const float* x = bottom[0]->data();             // (M, K)
  const float* weight = params_[0].blob->data();  // (N, K), or (K, N) when transposed
  float* y = top[0]->data();                      // (M, N)
  cuda::gemm(gpu.cublas_handle(), false, !transpose_, rows_, outputs_, inputs_, 1.0f, x, weight,
             0.0f, y);
  if (params_.size() < 2) return;
  add_bias(rows_, outputs_, params_[1].blob->data(), y, gpu.compute());
}

void InnerProductLayer::backward_gpu(const std::vector<Blob*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  const GpuResources& gpu = ctx.gpu();
  const float* x = bottom[0]->data();  // (M, K)
  const float* dy = top[0]->diff();    // (M, N)
  float* weight_diff = params_[0].blob->diff();
  if (transpose_) {
    // dW (K, N) += x^T (K, M) * dy (M, N)
    cuda::gemm(gpu.cublas_handle(), true, false, inputs_, outputs_, rows_, 1.0f, x, dy, 1.0f,
               weight_diff);
  } else {
    // dW (N, K) += dy^T (N, M) * x (M, K)
    cuda::gemm(gpu.cublas_handle(), true, false, outputs_, inputs_, rows_, 1.0f, dy, x, 1.0f,
               weight_diff);
  }
  if (params_.size() > 1) bias_grad(rows_, outputs_, dy, params_[1].blob->diff(), gpu.compute());
  if (!propagate_down[0]) return;
  // dx (M, K) = dy (M, N) * W (N, K), or dy * W^T with W (K, N).
  cuda::gemm(gpu.cublas_handle(), false, transpose_, rows_, inputs_, outputs_, 1.0f, dy,
             params_[0].blob->data(), 0.0f, bottom[0]->diff());
}

}  // namespace banyan
