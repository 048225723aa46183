// Convolution layer (Caffe's "Convolution"): 2-D cross-correlation over NCHW
// with groups, stride, pad, dilation and non-square kernels.  CPU workers
// run oneDNN's primitives (conv_dnnl.h), built at setup; the reference path
// (CpuBackend::kReference, or a shape oneDNN refuses) unrolls one sample at
// a time into the workspace (Im2Col) and runs one BLAS GEMM per group.  The
// GPU path (conv.cu) runs cuDNN with algorithms measured once in
// prepare_device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "layers/conv_cudnn.h"
#include "layers/conv_dnnl.h"
#include "layers/im2col.h"
#include "layers/layer.h"

namespace banyan {

// What is wrong with the window and group settings of `c` that do not depend
// on the bottom shape ("" when nothing): num_output, kernel, stride and
// dilation positive, pad >= 0, group positive and dividing num_output.
// Shared by Convolution and Deconvolution.
std::string convolution_config_problem(const ConvolutionConfig& c);

// Config: config.convolution.{num_output (K), bias_term, kernel_h/w,
// stride_h/w, pad_h/w, dilation_h/w, group, axis, weight_filler, bias_filler}.
// One bottom x (N, C, H, W) (4-D only, axis 1), one top y (N, K, Ho, Wo) with
//   Ho = (H + 2*pad_h - (dilation_h*(kernel_h-1)+1)) / stride_h + 1  (same for W).
// C and K must both be divisible by group; output channel k of group
// g = k / (K/group) sees input channels [g*C/group, (g+1)*C/group).
//   y[n,k,oy,ox] = b[k] + sum_{c,i,j} W[k,c,i,j] *
//                  x[n, g*C/group + c, oy*stride_h - pad_h + i*dilation_h,
//                                      ox*stride_w - pad_w + j*dilation_w]
// with x = 0 in the padding.  Parameters (Caffe's shapes): weight
// (K, C/group, kernel_h, kernel_w), then bias (K) when bias_term.
// Backward: dW[k,c,i,j] += sum over (n, oy, ox) of dy[n,k,oy,ox] times the
// input that tap (c, i, j) read for that output; db[k] += sum over (n, oy, ox)
// of dy[n,k,oy,ox]; dx (only when propagate_down[0]) is overwritten with the
// sum of dy * W over every output that read each input.
//
// GPU (CUDA builds): every configuration the CPU accepts, groups natively in
// cuDNN.  Each direction runs the fastest algorithm cuDNN measures within
// kGpuWorkspaceLimit bytes of scratch; TF32 only when the worker allows it
// (GpuOptions::allow_tf32), else FP32 FMA kernels.
class ConvolutionLayer : public Layer {
 public:
  explicit ConvolutionLayer(LayerConfig config) : Layer(std::move(config)) {}

  // The most scratch one cuDNN algorithm may use.
  static constexpr size_t kGpuWorkspaceLimit = size_t{512} << 20;

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
  // CPU, oneDNN: the plan's reorder buffers and scratchpad.  CPU,
  // reference: one sample's column matrix (C*kernel_h*kernel_w, Ho*Wo); 0
  // for a 1x1 kernel with stride 1 and no pad, which reads the bottom
  // directly.
  // CUDA: the largest workspace of the three chosen cuDNN algorithms (0
  // until prepare_device ran).
  size_t workspace_floats() const override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
  // Builds the cuDNN descriptors and measures the algorithms on temporary
  // device buffers (synchronises the compute stream).  Errors: out of
  // memory, no algorithm within the workspace limit.
  Status prepare_device(WorkerContext& ctx) override;
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
  // Checks the config values that do not depend on the bottom shape.
  Status validate_config() const;
  // The column matrix of sample `x` (C, H, W): the workspace, or `x` itself
  // for a pointwise convolution.
  const float* columns(const float* x, WorkerContext& ctx) const;
  void forward_reference(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                         WorkerContext& ctx);
  void backward_reference(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                          const std::vector<Blob*>& bottom, WorkerContext& ctx);

  ConvGeometry geom_;
  int num_ = 0;
  int out_channels_ = 0;
  int group_ = 1;
  bool pointwise_ = false;
  // CPU workers on the default backend; null on the reference path.
  std::unique_ptr<DnnlConvolution> dnnl_;
  // Bytes of scratch the GPU algorithms need, rounded up to floats.
  size_t gpu_workspace_floats_ = 0;

#ifdef BANYAN_WITH_CUDA
  // The cuDNN plan, built once by prepare_device and only executed after.
  CudnnConvPlan plan_;
  // Per layer for now; one per worker would share measurements across layers.
  cuda::ConvAlgoCache algo_cache_{kGpuWorkspaceLimit};
#endif
};

}  // namespace banyan
