// InnerProduct layer (Caffe's "InnerProduct", a fully connected layer): one
// GEMM over the bottom flattened from `axis` on.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.inner_product.{num_output (N), bias_term, axis, transpose,
// weight_filler, bias_filler}.  One bottom x of any shape; axes >= axis are
// flattened, so x is viewed as (M, K) with M = count(0, axis) and
// K = count(axis).  One top y of shape x.dims[0, axis) + (N).
//   y = x * W^T + b   with W (N, K)               (transpose false, Caffe's default)
//   y = x * W + b     with W (K, N)               (transpose true)
// Parameters (Caffe's shapes): the weight as above, then bias (N) when
// bias_term.  Backward: dW += dy^T * x (or x^T * dy when transposed),
// db += sum over the M rows of dy, dx = dy * W (or dy * W^T) overwritten.
// CPU, default backend, with fewer rows than outputs (M < N): the forward
// GEMM computes y^T = W x^T into the workspace (M x N floats) and
// transposes it, oneDNN's GEMM being several times faster in that form
// for small batches (docs/cpu-backend.md); otherwise no workspace.
//
// GPU (CUDA builds): the same three GEMMs on cuBLAS (cuda::gemm; TF32 when
// the worker allows it); the bias and its gradient are the layer's own
// kernels in full FP32 (the gradient summed in double, as on the CPU), not
// GEMMs with a ones vector, which TF32 would round.
class InnerProductLayer : public Layer {
 public:
  explicit InnerProductLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
  size_t workspace_floats() const override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif

 protected:
  void forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;
#ifdef BANYAN_WITH_CUDA
  void forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;
#endif

 private:
  int rows_ = 0;     // M
  int inputs_ = 0;   // K
  int outputs_ = 0;  // N
  bool transpose_ = false;
  // The forward goes through y^T (see above).
  bool transposed_forward() const;
};

}  // namespace banyan
