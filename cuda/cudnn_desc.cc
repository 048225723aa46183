// cuDNN descriptor lifetimes and setters.  The move/destroy boilerplate of
// the six classes goes through two small templates.
#include "cuda/cudnn_desc.h"

#include <utility>

#include "cuda/check.h"

namespace banyan::cuda {
namespace {

template <typename D>
void destroy(D* desc, cudnnStatus_t (*destroy_fn)(D)) {
  if (*desc == nullptr) return;
  BANYAN_CUDNN_CHECK(destroy_fn(*desc));
  *desc = nullptr;
}

template <typename D>
void take(D* dst, D* src, cudnnStatus_t (*destroy_fn)(D)) {
  if (dst == src) return;
  destroy(dst, destroy_fn);
  *dst = std::exchange(*src, nullptr);
}

}  // namespace

cudnnDataType_t cudnn_data_type(DataType t) {
  return t == DataType::kFloat32 ? CUDNN_DATA_FLOAT : CUDNN_DATA_BFLOAT16;
}

cudnnTensorFormat_t cudnn_format(Layout layout) {
  return layout == Layout::kNchw ? CUDNN_TENSOR_NCHW : CUDNN_TENSOR_NHWC;
}

// --- TensorDesc ---------------------------------------------------------------

TensorDesc::~TensorDesc() { destroy(&desc_, cudnnDestroyTensorDescriptor); }
TensorDesc::TensorDesc(TensorDesc&& other) noexcept : desc_(std::exchange(other.desc_, nullptr)) {}
TensorDesc& TensorDesc::operator=(TensorDesc&& other) noexcept {
  take(&desc_, &other.desc_, cudnnDestroyTensorDescriptor);
  return *this;
}

void TensorDesc::set(Layout layout, DataType type, int n, int c, int h, int w) {
  if (desc_ == nullptr) BANYAN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&desc_));
  BANYAN_CUDNN_CHECK(
      cudnnSetTensor4dDescriptor(desc_, cudnn_format(layout), cudnn_data_type(type), n, c, h, w));
}

void TensorDesc::set_strided(DataType type, int n, int c, int h, int w, int n_stride, int c_stride,
                             int h_stride, int w_stride) {
  if (desc_ == nullptr) BANYAN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&desc_));
  BANYAN_CUDNN_CHECK(cudnnSetTensor4dDescriptorEx(desc_, cudnn_data_type(type), n, c, h, w,
                                                  n_stride, c_stride, h_stride, w_stride));
}

// --- FilterDesc ---------------------------------------------------------------

FilterDesc::~FilterDesc() { destroy(&desc_, cudnnDestroyFilterDescriptor); }
FilterDesc::FilterDesc(FilterDesc&& other) noexcept : desc_(std::exchange(other.desc_, nullptr)) {}
FilterDesc& FilterDesc::operator=(FilterDesc&& other) noexcept {
  take(&desc_, &other.desc_, cudnnDestroyFilterDescriptor);
  return *this;
}

void FilterDesc::set(Layout layout, DataType type, int k, int c, int r, int s) {
  if (desc_ == nullptr) BANYAN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&desc_));
  BANYAN_CUDNN_CHECK(
      cudnnSetFilter4dDescriptor(desc_, cudnn_data_type(type), cudnn_format(layout), k, c, r, s));
}

// --- ConvDesc -----------------------------------------------------------------

ConvDesc::~ConvDesc() { destroy(&desc_, cudnnDestroyConvolutionDescriptor); }
ConvDesc::ConvDesc(ConvDesc&& other) noexcept : desc_(std::exchange(other.desc_, nullptr)) {}
ConvDesc& ConvDesc::operator=(ConvDesc&& other) noexcept {
  take(&desc_, &other.desc_, cudnnDestroyConvolutionDescriptor);
  return *this;
}

void ConvDesc::set(int pad_h, int pad_w, int stride_h, int stride_w, int dilation_h, int dilation_w,
                   int groups, DataType type, bool allow_tf32) {
  if (desc_ == nullptr) BANYAN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&desc_));
  BANYAN_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(desc_, pad_h, pad_w, stride_h, stride_w,
                                                     dilation_h, dilation_w,
                                                     CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  BANYAN_CUDNN_CHECK(cudnnSetConvolutionGroupCount(desc_, groups));
  set_math_type(default_math_type(type, allow_tf32));
}

void ConvDesc::set_math_type(cudnnMathType_t math) {
  BANYAN_CUDNN_CHECK(cudnnSetConvolutionMathType(desc_, math));
}

cudnnMathType_t ConvDesc::default_math_type(DataType type, bool allow_tf32) {
  if (type == DataType::kBFloat16) return CUDNN_TENSOR_OP_MATH;
  return allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}

// --- PoolingDesc --------------------------------------------------------------

PoolingDesc::~PoolingDesc() { destroy(&desc_, cudnnDestroyPoolingDescriptor); }
PoolingDesc::PoolingDesc(PoolingDesc&& other) noexcept
    : desc_(std::exchange(other.desc_, nullptr)) {}
PoolingDesc& PoolingDesc::operator=(PoolingDesc&& other) noexcept {
  take(&desc_, &other.desc_, cudnnDestroyPoolingDescriptor);
  return *this;
}

void PoolingDesc::set(cudnnPoolingMode_t mode, int window_h, int window_w, int pad_h, int pad_w,
                      int stride_h, int stride_w) {
  if (desc_ == nullptr) BANYAN_CUDNN_CHECK(cudnnCreatePoolingDescriptor(&desc_));
  BANYAN_CUDNN_CHECK(cudnnSetPooling2dDescriptor(desc_, mode, CUDNN_PROPAGATE_NAN, window_h,
                                                 window_w, pad_h, pad_w, stride_h, stride_w));
}

// --- LrnDesc ------------------------------------------------------------------

LrnDesc::~LrnDesc() { destroy(&desc_, cudnnDestroyLRNDescriptor); }
LrnDesc::LrnDesc(LrnDesc&& other) noexcept : desc_(std::exchange(other.desc_, nullptr)) {}
LrnDesc& LrnDesc::operator=(LrnDesc&& other) noexcept {
  take(&desc_, &other.desc_, cudnnDestroyLRNDescriptor);
  return *this;
}

void LrnDesc::set(unsigned n, double alpha, double beta, double k) {
  if (desc_ == nullptr) BANYAN_CUDNN_CHECK(cudnnCreateLRNDescriptor(&desc_));
  BANYAN_CUDNN_CHECK(cudnnSetLRNDescriptor(desc_, n, alpha, beta, k));
}

// --- ActivationDesc -----------------------------------------------------------

ActivationDesc::~ActivationDesc() { destroy(&desc_, cudnnDestroyActivationDescriptor); }
ActivationDesc::ActivationDesc(ActivationDesc&& other) noexcept
    : desc_(std::exchange(other.desc_, nullptr)) {}
ActivationDesc& ActivationDesc::operator=(ActivationDesc&& other) noexcept {
  take(&desc_, &other.desc_, cudnnDestroyActivationDescriptor);
  return *this;
}

void ActivationDesc::set(cudnnActivationMode_t mode, double coef) {
  if (desc_ == nullptr) BANYAN_CUDNN_CHECK(cudnnCreateActivationDescriptor(&desc_));
  BANYAN_CUDNN_CHECK(cudnnSetActivationDescriptor(desc_, mode, CUDNN_PROPAGATE_NAN, coef));
}

}  // namespace banyan::cuda
