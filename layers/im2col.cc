// CPU Im2Col / Col2Im.  Both walk the column matrix row by row, so the inner
// loop runs over contiguous output positions of one kernel tap.
#include "layers/im2col.h"

#include <algorithm>

namespace banyan {

int64_t conv_output_size(int64_t in, int kernel, int pad, int stride, int dilation) {
  const int64_t extent = static_cast<int64_t>(dilation) * (kernel - 1) + 1;
  return (in + 2 * static_cast<int64_t>(pad) - extent) / stride + 1;
}

void im2_col(const float* image, const ConvGeometry& g, float* col) {
  const int64_t plane = static_cast<int64_t>(g.height) * g.width;
  for (int c = 0; c < g.channels; ++c) {
    const float* src = image + c * plane;
    for (int i = 0; i < g.kernel_h; ++i) {
      for (int j = 0; j < g.kernel_w; ++j) {
        for (int y = 0; y < g.out_h; ++y) {
          const int in_y = y * g.stride_h - g.pad_h + i * g.dilation_h;
          if (in_y < 0 || in_y >= g.height) {
            std::fill(col, col + g.out_w, 0.0f);
            col += g.out_w;
            continue;
          }
          const float* row = src + static_cast<int64_t>(in_y) * g.width;
          int in_x = -g.pad_w + j * g.dilation_w;
          for (int x = 0; x < g.out_w; ++x, in_x += g.stride_w) {
            *col++ = (in_x >= 0 && in_x < g.width) ? row[in_x] : 0.0f;
          }
        }
      }
    }
  }
}

void col2_im(const float* col, const ConvGeometry& g, float* image) {
  const int64_t plane = static_cast<int64_t>(g.height) * g.width;
  std::fill(image, image + g.channels * plane, 0.0f);
  for (int c = 0; c < g.channels; ++c) {
    float* dst = image + c * plane;
    for (int i = 0; i < g.kernel_h; ++i) {
      for (int j = 0; j < g.kernel_w; ++j) {
        for (int y = 0; y < g.out_h; ++y) {
          const int in_y = y * g.stride_h - g.pad_h + i * g.dilation_h;
          if (in_y < 0 || in_y >= g.height) {
            col += g.out_w;
            continue;
          }
          float* row = dst + static_cast<int64_t>(in_y) * g.width;
          int in_x = -g.pad_w + j * g.dilation_w;
          for (int x = 0; x < g.out_w; ++x, in_x += g.stride_w, ++col) {
            if (in_x >= 0 && in_x < g.width) row[in_x] += *col;
          }
        }
      }
    }
  }
}

}  // namespace banyan
