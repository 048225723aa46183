// GPU Pooling with the layer's own kernels, step for step as pooling.cc: one
// thread per output forward (MAX records the argmax); backward gathers, one
// thread per input, over the outputs whose windows can hold it, in the CPU's
// output order, so no atomics are needed and results equal the CPU's.
#include "layers/pooling.h"

#include <glog/logging.h>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

// The layer's geometry, passed by value to the kernels.
struct PoolShape {
  int64_t planes;  // N * C
  int height, width;
  int kernel_h, kernel_w;
  int stride_h, stride_w;
  int pad_h, pad_w;
  int pooled_h, pooled_w;
};

// PoolingLayer::window_at: window (oy, ox) clipped to the input, and Caffe's
// AVE divisor (the window clipped to the padded input).
struct Window {
  int h0, h1, w0, w1;
  int divisor;
};

__device__ __forceinline__ Window window_at(const PoolShape& s, int oy, int ox) {
  const int hstart = oy * s.stride_h - s.pad_h, wstart = ox * s.stride_w - s.pad_w;
  const int hend = min(hstart + s.kernel_h, s.height + s.pad_h);
  const int wend = min(wstart + s.kernel_w, s.width + s.pad_w);
  const int dh = hend - hstart, dw = wend - wstart;
  Window win;
  win.divisor = (dh > 0 && dw > 0) ? dh * dw : 1;
  win.h0 = max(hstart, 0);
  win.w0 = max(wstart, 0);
  win.h1 = min(hend, s.height);
  win.w1 = min(wend, s.width);
  return win;
}

// The outputs along one axis whose windows can contain input position i:
// [*first, *last).  A window starting at o*stride - pad covers i when
// o*stride - pad <= i < o*stride - pad + kernel.
__device__ __forceinline__ void outputs_covering(int i, int kernel, int stride, int pad, int pooled,
                                                 int* first, int* last) {
  *first = (i + pad < kernel) ? 0 : (i + pad - kernel) / stride + 1;
  *last = min((i + pad) / stride + 1, pooled);
}

__global__ void max_forward_kernel(PoolShape s,
                                   const float* x,   // x (planes, H, W)
                                   float* y,         // y (planes, Ho, Wo)
                                   float* argmax) {  // argmax (planes, Ho, Wo)
  const int64_t out_plane = static_cast<int64_t>(s.pooled_h) * s.pooled_w;
  const int64_t n = s.planes * out_plane;
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    const int ox = static_cast<int>(i % s.pooled_w);
    const int oy = static_cast<int>((i / s.pooled_w) % s.pooled_h);
    const float* xp = x + (i / out_plane) * s.height * s.width;
    const Window win = window_at(s, oy, ox);
    int best_index = -1;
    float best = 0.0f;
    for (int h = win.h0; h < win.h1; ++h) {
      for (int w = win.w0; w < win.w1; ++w) {
        const int index = h * s.width + w;
        if (best_index < 0 || xp[index] > best) {
          best = xp[index];
          best_index = index;
        }
      }
    }
    y[i] = best;
    argmax[i] = static_cast<float>(best_index);
  }
}

__global__ void ave_forward_kernel(PoolShape s,
                                   const float* x,  // x (planes, H, W)
                                   float* y) {      // y (planes, Ho, Wo)
  const int64_t out_plane = static_cast<int64_t>(s.pooled_h) * s.pooled_w;
  const int64_t n = s.planes * out_plane;
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    const int ox = static_cast<int>(i % s.pooled_w);
    const int oy = static_cast<int>((i / s.pooled_w) % s.pooled_h);
    const float* xp = x + (i / out_plane) * s.height * s.width;
    const Window win = window_at(s, oy, ox);
    double sum = 0.0;
    for (int h = win.h0; h < win.h1; ++h) {
      for (int w = win.w0; w < win.w1; ++w) sum += xp[h * s.width + w];
    }
    y[i] = static_cast<float>(sum / win.divisor);
  }
}

// dx[p, h, w] = sum, in output order, of dy over the outputs whose argmax is (h, w).
__global__ void max_backward_kernel(PoolShape s,
                                    const float* dy,      // dy (planes, Ho, Wo)
                                    const float* argmax,  // argmax (planes, Ho, Wo)
                                    float* dx) {          // dx (planes, H, W)
  const int64_t in_plane = static_cast<int64_t>(s.height) * s.width;
  const int64_t out_plane = static_cast<int64_t>(s.pooled_h) * s.pooled_w;
  const int64_t n = s.planes * in_plane;
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    const int w = static_cast<int>(i % s.width);
    const int h = static_cast<int>((i / s.width) % s.height);
    const int64_t base = (i / in_plane) * out_plane;
    const int index = h * s.width + w;
    int oy0, oy1, ox0, ox1;
    outputs_covering(h, s.kernel_h, s.stride_h, s.pad_h, s.pooled_h, &oy0, &oy1);
    outputs_covering(w, s.kernel_w, s.stride_w, s.pad_w, s.pooled_w, &ox0, &ox1);
    float g = 0.0f;
    for (int oy = oy0; oy < oy1; ++oy) {
      for (int ox = ox0; ox < ox1; ++ox) {
        const int64_t o = base + oy * s.pooled_w + ox;
        if (static_cast<int>(argmax[o]) == index) g = __fadd_rn(g, dy[o]);
      }
    }
    dx[i] = g;
  }
}

// dx[p, h, w] = sum, in output order, of dy / divisor over the windows holding (h, w).
__global__ void ave_backward_kernel(PoolShape s,
                                    const float* dy,  // dy (planes, Ho, Wo)
                                    float* dx) {      // dx (planes, H, W)
  const int64_t in_plane = static_cast<int64_t>(s.height) * s.width;
  const int64_t out_plane = static_cast<int64_t>(s.pooled_h) * s.pooled_w;
  const int64_t n = s.planes * in_plane;
  for (int64_t i = cuda::grid_start(); i < n; i += cuda::grid_stride()) {
    const int w = static_cast<int>(i % s.width);
    const int h = static_cast<int>((i / s.width) % s.height);
    const float* dyp = dy + (i / in_plane) * out_plane;
    int oy0, oy1, ox0, ox1;
    outputs_covering(h, s.kernel_h, s.stride_h, s.pad_h, s.pooled_h, &oy0, &oy1);
    outputs_covering(w, s.kernel_w, s.stride_w, s.pad_w, s.pooled_w, &ox0, &ox1);
    float g = 0.0f;
    for (int oy = oy0; oy < oy1; ++oy) {
      for (int ox = ox0; ox < ox1; ++ox) {
        const Window win = window_at(s, oy, ox);
        if (h < win.h0 || h >= win.h1 || w < win.w0 || w >= win.w1) continue;
        g = __fadd_rn(g, __fdiv_rn(dyp[oy * s.pooled_w + ox], static_cast<float>(win.divisor)));
      }
    }
    dx[i] = g;
  }
}

}  // namespace

void PoolingLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                               WorkerContext& ctx) {
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "pooling forward");
  const PoolShape s{planes_,   height_, width_, kernel_h_, kernel_w_, stride_h_,
                    stride_w_, pad_h_,  pad_w_, pooled_h_, pooled_w_};
  const int64_t n = top[0]->count();
  if (n == 0) return;
  if (argmax_ != nullptr) {
    max_forward_kernel<<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(
        s, bottom[0]->data(), top[0]->data(), argmax_->data());
  } else {
    ave_forward_kernel<<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(s, bottom[0]->data(),
                                                                           top[0]->data());
  }
  BANYAN_CUDA_CHECK_LAUNCH();
}

void PoolingLayer::backward_gpu(const std::vector<Blob*>& top,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "pooling backward");
  const PoolShape s{planes_,   height_, width_, kernel_h_, kernel_w_, stride_h_,
                    stride_w_, pad_h_,  pad_w_, pooled_h_, pooled_w_};
  const int64_t n = bottom[0]->count();
  if (n == 0) return;
  if (argmax_ != nullptr) {
    max_backward_kernel<<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(
        s, top[0]->diff(), argmax_->data(), bottom[0]->diff());
  } else {
    ave_backward_kernel<<<cuda::grid_for(n), cuda::kBlockSize, 0, stream>>>(s, top[0]->diff(),
                                                                            bottom[0]->diff());
  }
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan
