// cuDNN descriptors as RAII, move-only owners (legacy cuDNN 9 API, which
// still carries convolution, pooling, LRN and activation).  Each is created
// on its first set_*() and may be set again when shapes change.  Data is
// float or bf16 in NCHW or NHWC; computation is always FP32.  Descriptors
// are host objects: no device, no stream, not thread-safe.
#pragma once

#include <cudnn.h>

#include "cuda/types.h"

namespace banyan::cuda {

cudnnDataType_t cudnn_data_type(DataType t);
cudnnTensorFormat_t cudnn_format(Layout layout);

class TensorDesc {
 public:
  TensorDesc() = default;
  ~TensorDesc();
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  TensorDesc(TensorDesc&& other) noexcept;
  TensorDesc& operator=(TensorDesc&& other) noexcept;

  // A packed (N, C, H, W) tensor stored in `layout` order.
  void set(Layout layout, DataType type, int n, int c, int h, int w);
  // Explicit element strides, e.g. a channel slice of a larger tensor.
  void set_strided(DataType type, int n, int c, int h, int w, int n_stride, int c_stride,
                   int h_stride, int w_stride);
  cudnnTensorDescriptor_t get() const { return desc_; }

 private:
  cudnnTensorDescriptor_t desc_ = nullptr;
};

class FilterDesc {
 public:
  FilterDesc() = default;
  ~FilterDesc();
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  FilterDesc(FilterDesc&& other) noexcept;
  FilterDesc& operator=(FilterDesc&& other) noexcept;

  // Filters (K, C per group, R, S) stored in `layout` order (NCHW = KCRS,
  // Caffe's weight layout).
  void set(Layout layout, DataType type, int k, int c, int r, int s);
  cudnnFilterDescriptor_t get() const { return desc_; }

 private:
  cudnnFilterDescriptor_t desc_ = nullptr;
};

class ConvDesc {
 public:
  ConvDesc() = default;
  ~ConvDesc();
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
  ConvDesc(ConvDesc&& other) noexcept;
  ConvDesc& operator=(ConvDesc&& other) noexcept;

  // Cross-correlation (what Caffe and every framework call convolution) with
  // FP32 compute and `groups` groups.  The math type starts as
  // default_math_type(type, allow_tf32).
  void set(int pad_h, int pad_w, int stride_h, int stride_w, int dilation_h, int dilation_w,
           int groups, DataType type, bool allow_tf32);
  // E.g. the mathType of the algorithm ConvAlgoCache chose, before running it.
  void set_math_type(cudnnMathType_t math);
  cudnnConvolutionDescriptor_t get() const { return desc_; }

  // bf16: tensor cores; float: TF32 tensor cores allowed (CUDNN_DEFAULT_MATH)
  // or plain FP32 FMA kernels only (CUDNN_FMA_MATH).
  static cudnnMathType_t default_math_type(DataType type, bool allow_tf32);

 private:
  cudnnConvolutionDescriptor_t desc_ = nullptr;
};

class PoolingDesc {
 public:
  PoolingDesc() = default;
  ~PoolingDesc();
  PoolingDesc(const PoolingDesc&) = delete;
  PoolingDesc& operator=(const PoolingDesc&) = delete;
  PoolingDesc(PoolingDesc&& other) noexcept;
  PoolingDesc& operator=(PoolingDesc&& other) noexcept;

  // NaNs propagate (a NaN in a window gives NaN, as on the CPU).
  void set(cudnnPoolingMode_t mode, int window_h, int window_w, int pad_h, int pad_w, int stride_h,
           int stride_w);
  cudnnPoolingDescriptor_t get() const { return desc_; }

 private:
  cudnnPoolingDescriptor_t desc_ = nullptr;
};

class LrnDesc {
 public:
  LrnDesc() = default;
  ~LrnDesc();
  LrnDesc(const LrnDesc&) = delete;
  LrnDesc& operator=(const LrnDesc&) = delete;
  LrnDesc(LrnDesc&& other) noexcept;
  LrnDesc& operator=(LrnDesc&& other) noexcept;

  // Across channels: y = x / (k + alpha / n * sum over the window of x^2)^beta,
  // the same alpha / n as Caffe's local_size.  cuDNN takes n in [1, 16].
  void set(unsigned n, double alpha, double beta, double k);
  cudnnLRNDescriptor_t get() const { return desc_; }

 private:
  cudnnLRNDescriptor_t desc_ = nullptr;
};

class ActivationDesc {
 public:
  ActivationDesc() = default;
  ~ActivationDesc();
  ActivationDesc(const ActivationDesc&) = delete;
  ActivationDesc& operator=(const ActivationDesc&) = delete;
  ActivationDesc(ActivationDesc&& other) noexcept;
  ActivationDesc& operator=(ActivationDesc&& other) noexcept;

  // `coef`: the ceiling of a clipped ReLU, alpha of an ELU; else unused.
  // NaNs propagate.
  void set(cudnnActivationMode_t mode, double coef = 0.0);
  cudnnActivationDescriptor_t get() const { return desc_; }

 private:
  cudnnActivationDescriptor_t desc_ = nullptr;
};

}  // namespace banyan::cuda
