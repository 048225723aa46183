// Pooling layer (Caffe's "Pooling"): MAX or AVE over 2-D windows of NCHW,
// with pad, stride, global pooling and Caffe's output-size rounding, so
// shapes match Caffe nets exactly.
#pragma once

#include <cstdint>
#include <memory>

#include "layers/layer.h"
#include "layers/pooling_dnnl.h"

namespace banyan {

// Config: config.pooling.{pool, kernel_h/w, stride_h/w, pad_h/w,
// global_pooling, round_mode}.  One bottom x (N, C, H, W) (4-D only), one top
// y (N, C, Ho, Wo).  No parameters, no workspace.
//
// Output size (per axis; shown for H):
//   CEIL (default): Ho = ceil((H + 2*pad - kernel) / stride) + 1
//   FLOOR:          Ho = floor((H + 2*pad - kernel) / stride) + 1
//   then, when pad > 0 and the last window would start in the bottom padding,
//   that is (Ho-1)*stride >= H + pad in padded coordinates, it is dropped (--Ho).
// global_pooling sets the kernel to (H, W) (output 1x1); it takes no kernel
// size, pad or stride of its own.  pad must be smaller than the kernel.
//
// Window (oy, ox) covers rows [oy*stride_h - pad_h, oy*stride_h - pad_h + kernel_h)
// (columns alike) intersected with the input.
//   MAX: the largest input in the window; ties go to the first in row-major
//        order.  The layer keeps the argmax of every output in a buffer it
//        owns, and backward routes each dy to that position (summing where
//        windows overlap).
//   AVE: the sum over the window divided by Caffe's divisor
//          (min(hstart + kernel_h, H + pad_h) - hstart) *
//          (min(wstart + kernel_w, W + pad_w) - wstart)
//        with hstart = oy*stride_h - pad_h (unclipped): the divisor counts
//        padded positions but not the part of a window that hangs past the
//        padded border (CEIL rounding).  Backward spreads dy / divisor evenly
//        over the in-bounds positions.
// A window can miss the input entirely under CEIL rounding (a stride larger
// than the kernel); its output is 0 and it passes no gradient back.
//
// GPU (CUDA builds): every configuration, with the layer's own kernels
// (pooling.cu) that follow the definitions above step for step, so results
// equal the CPU's: cuDNN's output size, AVE divisor and MAX tie-breaking do
// not all match Caffe's.
class PoolingLayer : public Layer {
 public:
  explicit PoolingLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
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
  // One pooling window clipped to the input, and Caffe's AVE divisor.
  struct Window {
    int h0, h1, w0, w1;  // [h0, h1) x [w0, w1) inside the input; may be empty
    int divisor;
  };
  Status validate_config() const;
  // Pooled extent along one axis after Caffe's rounding rules.
  int64_t pooled_size(int64_t in, int kernel, int pad, int stride) const;
  Window window_at(int oy, int ox) const;
  void max_forward(const float* x, float* y, float* argmax) const;
  void ave_forward(const float* x, float* y) const;
  // dx (one plane, zeroed) += the AVE gradient of dy (one plane).
  void ave_backward(const float* dy, float* dx) const;

  int64_t planes_ = 0;  // N * C
  int height_ = 0, width_ = 0;
  int kernel_h_ = 0, kernel_w_ = 0;
  int stride_h_ = 1, stride_w_ = 1;
  int pad_h_ = 0, pad_w_ = 0;
  int pooled_h_ = 0, pooled_w_ = 0;
  // MAX only, shape of the top: the argmax of each output as an index into
  // its (H, W) plane (exact in float below 2^24), -1 for an empty window.
  std::unique_ptr<Blob> argmax_;
  // MAX on CPU workers of the default backend: oneDNN's plan (argmax_ is
  // then not allocated).
  std::unique_ptr<DnnlMaxPooling> dnnl_;
};

}  // namespace banyan
