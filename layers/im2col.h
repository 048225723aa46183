// Im2Col / Col2Im: the patch unrolling that turns a convolution into one GEMM
// per group (CPU reference path).  Supports pad, stride, dilation and
// non-square kernels; all images are one sample in CHW layout.
#pragma once

#include <cstdint>

namespace banyan {

// Geometry of one convolution over a single (C, H, W) image.
struct ConvGeometry {
  int channels = 0;
  int height = 0, width = 0;
  int kernel_h = 1, kernel_w = 1;
  int pad_h = 0, pad_w = 0;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int out_h = 0, out_w = 0;  // from ConvOutputSize

  // Rows of the column matrix: channels * kernel_h * kernel_w.
  int64_t col_rows() const { return static_cast<int64_t>(channels) * kernel_h * kernel_w; }
  // Columns of the column matrix: out_h * out_w.
  int64_t col_cols() const { return static_cast<int64_t>(out_h) * out_w; }
};

// Output extent of a convolution along one axis:
// (in + 2*pad - (dilation*(kernel-1)+1)) / stride + 1.  The result is <= 0
// when the dilated kernel does not fit in the padded input; callers report it.
int64_t conv_output_size(int64_t in, int kernel, int pad, int stride, int dilation);

// Unrolls `image` (C, H, W) into `col` (C*kh*kw, out_h*out_w): row
// (c, i, j) holds, for every output position (y, x), the input pixel at
// (y*stride_h - pad_h + i*dilation_h, x*stride_w - pad_w + j*dilation_w),
// or 0 where that lies in the padding.
void im2_col(const float* image, const ConvGeometry& g, float* col);

// The adjoint of Im2Col: overwrites `image` (C, H, W) with the sum, over all
// entries of `col` (C*kh*kw, out_h*out_w), of each entry added to the pixel
// it was read from.  Entries that fall in the padding are dropped.
void col2_im(const float* col, const ConvGeometry& g, float* image);

}  // namespace banyan
