// Deconvolution layer (Caffe's "Deconvolution"): the transpose of
// Convolution, i.e. its forward pass is a convolution's backward-data pass.
// It upsamples: each input pixel scatters a weighted kernel into the output.
#pragma once

#include <cstddef>
#include <cstdint>

#include "layers/conv.h"
#include "layers/im2col.h"
#include "layers/layer.h"

namespace banyan {

// Config: config.convolution, the same fields as Convolution's (num_output K,
// bias_term, kernel_h/w, stride_h/w, pad_h/w, dilation_h/w, group, axis,
// weight_filler, bias_filler).  One bottom x (N, C, H, W) (4-D only, axis 1),
// one top y (N, K, Ho, Wo) with
//   Ho = stride_h * (H - 1) + dilation_h * (kernel_h - 1) + 1 - 2 * pad_h
// (same for W), which must be positive.  C and K must both be divisible by
// group.  Parameters (Caffe's shapes): weight (C, K/group, kernel_h,
// kernel_w), then bias (K) when bias_term.  With g = c / (C/group):
//   y[n, g*K/group + k, iy*stride_h - pad_h + i*dilation_h,
//                       ix*stride_w - pad_w + j*dilation_w]
//     += W[c, k, i, j] * x[n, c, iy, ix]     (positions outside y dropped)
// then y[n, k, :, :] += b[k].  That is exactly the input gradient of a
// Convolution from y's shape to x's with the same weight, so
// Backward: dx (only when propagate_down[0]) is overwritten with that
// Convolution's forward of dy (without bias); dW += the correlation of dy's
// patches with x (the Convolution's weight gradient with the roles of input
// and output gradient swapped); db[k] += sum of dy[n, k, :, :].
//
// CPU: per sample and group, one GEMM into columns then Col2Im (forward),
// Im2Col of dy then two GEMMs (backward); 1x1 kernels with stride 1 and no
// pad skip the column buffer.  GPU (CUDA builds): cuDNN, the Convolution's
// plan (conv_cudnn.h) for the transposed geometry, run as backward-data
// (forward), forward (dx) and backward-filter with x and dy swapped (dW).
class DeconvolutionLayer : public Layer {
 public:
  explicit DeconvolutionLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
  // CPU: one sample's column matrix (K*kernel_h*kernel_w, H*W), 0 for a
  // pointwise deconvolution.  CUDA: the largest workspace of the three cuDNN
  // algorithms (0 until prepare_device ran).
  size_t workspace_floats() const override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
  // Builds the cuDNN plan and measures the algorithms (synchronises the
  // compute stream).  Errors: out of memory, no algorithm within the limit.
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
  // Checks the bottom's shape against the config and sets geom_.
  Status set_geometry(const Shape& s);
  // The column matrix of sample dy (K, Ho, Wo): the workspace, or dy itself
  // when pointwise.
  const float* columns(const float* dy, WorkerContext& ctx) const;

  // The convolution this layer transposes, over one sample: channels, height
  // and width are the top's (K, Ho, Wo); out_h/out_w are the bottom's (H, W).
  ConvGeometry geom_;
  int num_ = 0;
  int in_channels_ = 0;  // C
  int group_ = 1;
  bool pointwise_ = false;
  size_t gpu_workspace_floats_ = 0;
#ifdef BANYAN_WITH_CUDA
  // The cuDNN plan of that convolution (x: the top, y: the bottom).
  CudnnConvPlan plan_;
  cuda::ConvAlgoCache algo_cache_{ConvolutionLayer::kGpuWorkspaceLimit};
#endif
};

}  // namespace banyan
