// GPU LRN.  Across channels: cuDNN's cross-channel LRN where it takes the
// parameters (lrn.h), else the layer's own kernels.  Within a channel: the
// layer's own kernels always.  One thread per element, with the operations
// of lrn.cc in the same order (separately rounded multiplies and adds, no FMA
// contraction), so they track the CPU closely.
#include "layers/lrn.h"

#include <glog/logging.h>

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

const float kOne = 1.0f;
const float kZero = 0.0f;

// Element i of a (N, C, P) tensor is (n, c, p); the window of channel c is
// [max(c - half, 0), min(c + half, C - 1)].
struct LrnShape {
  int channels;
  int64_t plane;  // P = H * W
  int64_t count;  // N * C * P
  int half;       // local_size / 2
};

// scale = k + alpha_over_n * sum_{j in window} x_j^2;  y = x * scale^-beta
__global__ void lrn_forward_kernel(LrnShape s, float k, float alpha_over_n, float beta,
                                   const float* x,  // x (N, C, P)
                                   float* scale,    // scale (N, C, P)
                                   float* y) {      // y (N, C, P)
  for (int64_t i = cuda::grid_start(); i < s.count; i += cuda::grid_stride()) {
    const int64_t p = i % s.plane;
    const int c = static_cast<int>((i / s.plane) % s.channels);
    const float* xn = x + (i - p - c * s.plane);  // channel 0 of this sample
    const int lo = max(c - s.half, 0), hi = min(c + s.half, s.channels - 1);
    float sum = 0.0f;
    for (int j = lo; j <= hi; ++j) {
      const float v = xn[j * s.plane + p];
      sum = __fadd_rn(sum, __fmul_rn(v, v));
    }
    const float sc = __fadd_rn(k, __fmul_rn(alpha_over_n, sum));
    scale[i] = sc;
    y[i] = __fmul_rn(x[i], powf(sc, -beta));
  }
}

// dx = dy * scale^-beta - sum_{j in window} coef * x * dy_j * y_j / scale_j
__global__ void lrn_backward_kernel(LrnShape s, float beta, float coef,
                                    const float* x,      // x (N, C, P)
                                    const float* y,      // y (N, C, P)
                                    const float* dy,     // dy (N, C, P)
                                    const float* scale,  // scale (N, C, P)
                                    float* dx) {         // dx (N, C, P)
  for (int64_t i = cuda::grid_start(); i < s.count; i += cuda::grid_stride()) {
    const int64_t p = i % s.plane;
    const int c = static_cast<int>((i / s.plane) % s.channels);
    const int64_t base = i - p - c * s.plane;  // channel 0 of this sample
    const int lo = max(c - s.half, 0), hi = min(c + s.half, s.channels - 1);
    float g = __fmul_rn(dy[i], powf(scale[i], -beta));
    const float cx = __fmul_rn(coef, x[i]);
    for (int j = lo; j <= hi; ++j) {
      const int64_t o = base + j * s.plane + p;
      g = __fsub_rn(g, __fdiv_rn(__fmul_rn(__fmul_rn(cx, dy[o]), y[o]), scale[o]));
    }
    dx[i] = g;
  }
}

// WITHIN_CHANNEL: element i of a (N, C, H, W) tensor is (plane, h, w); its
// window is the local_size x local_size square centred on (h, w), clipped.
struct WithinShape {
  int height, width;
  int64_t count;  // N * C * H * W
  int half;       // local_size / 2
  float n;        // local_size^2
};

WithinShape make_within_shape(int height, int width, int64_t count, int local_size) {
  const float size = static_cast<float>(local_size);
  return WithinShape{height, width, count, local_size / 2, size * size};
}

// scale = 1 + alpha * (sum_{window} x^2) / n;  y = x * scale^-beta
__global__ void lrn_within_forward_kernel(WithinShape s, float alpha, float beta,
                                          const float* x,  // x (N, C, H, W)
                                          float* scale,    // scale (N, C, H, W)
                                          float* y) {      // y (N, C, H, W)
  for (int64_t e = cuda::grid_start(); e < s.count; e += cuda::grid_stride()) {
    const int w = static_cast<int>(e % s.width);
    const int h = static_cast<int>((e / s.width) % s.height);
    const float* xp = x + (e - w - static_cast<int64_t>(h) * s.width);  // the plane
    const int h0 = max(h - s.half, 0), h1 = min(h + s.half, s.height - 1);
    const int w0 = max(w - s.half, 0), w1 = min(w + s.half, s.width - 1);
    float sum = 0.0f;
    for (int i = h0; i <= h1; ++i) {
      for (int j = w0; j <= w1; ++j) {
        const float v = xp[static_cast<int64_t>(i) * s.width + j];
        sum = __fadd_rn(sum, __fmul_rn(v, v));
      }
    }
    const float sc = __fadd_rn(1.0f, __fmul_rn(alpha, __fdiv_rn(sum, s.n)));
    scale[e] = sc;
    y[e] = __fmul_rn(powf(sc, -beta), x[e]);
  }
}

// dx = dy * scale^-beta - coef * x * sum_{window} dy_o * y_o / scale_o
__global__ void lrn_within_backward_kernel(WithinShape s, float beta, float coef,
                                           const float* x,      // x (N, C, H, W)
                                           const float* y,      // y (N, C, H, W)
                                           const float* dy,     // dy (N, C, H, W)
                                           const float* scale,  // scale (N, C, H, W)
                                           float* dx) {         // dx (N, C, H, W)
  for (int64_t e = cuda::grid_start(); e < s.count; e += cuda::grid_stride()) {
    const int w = static_cast<int>(e % s.width);
    const int h = static_cast<int>((e / s.width) % s.height);
    const int64_t base = e - w - static_cast<int64_t>(h) * s.width;  // the plane
    const int h0 = max(h - s.half, 0), h1 = min(h + s.half, s.height - 1);
    const int w0 = max(w - s.half, 0), w1 = min(w + s.half, s.width - 1);
    float cross = 0.0f;
    for (int i = h0; i <= h1; ++i) {
      for (int j = w0; j <= w1; ++j) {
        const int64_t o = base + static_cast<int64_t>(i) * s.width + j;
        cross = __fadd_rn(cross, __fdiv_rn(__fmul_rn(dy[o], y[o]), scale[o]));
      }
    }
    const float direct = __fmul_rn(powf(scale[e], -beta), dy[e]);
    dx[e] = __fsub_rn(direct, __fmul_rn(__fmul_rn(coef, x[e]), cross));
  }
}

}  // namespace

Status LrnLayer::prepare_device(WorkerContext& /*ctx*/) {
  if (!use_cudnn_) return Status::success();
  const LrnConfig& c = config_.lrn;
  lrn_desc_.set(static_cast<unsigned>(c.local_size), c.alpha, c.beta, c.k);
  tensor_desc_.set(cuda::Layout::kNchw, cuda::DataType::kFloat32, num_, channels_,
                   static_cast<int>(plane_), 1);
  return Status::success();
}

void LrnLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                           WorkerContext& ctx) {
  if (use_cudnn_) {
    CHECK(tensor_desc_.get() != nullptr) << "layer " << name() << ": prepare_device did not run";
    BANYAN_CUDNN_CHECK(cudnnLRNCrossChannelForward(
        ctx.gpu().cudnn(), lrn_desc_.get(), CUDNN_LRN_CROSS_CHANNEL_DIM1, &kOne, tensor_desc_.get(),
        bottom[0]->data(), &kZero, tensor_desc_.get(), top[0]->data()));
    return;
  }
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "lrn forward");
  const LrnConfig& c = config_.lrn;
  if (within_channel_) {
    const WithinShape w = make_within_shape(height_, width_, bottom[0]->count(), c.local_size);
    if (w.count == 0) return;
    lrn_within_forward_kernel<<<cuda::grid_for(w.count), cuda::kBlockSize, 0, stream>>>(
        w, c.alpha, c.beta, bottom[0]->data(), scale_->data(), top[0]->data());
    BANYAN_CUDA_CHECK_LAUNCH();
    return;
  }
  const LrnShape s{channels_, plane_, bottom[0]->count(), c.local_size / 2};
  if (s.count == 0) return;
  // The same float as lrn.cc's.
  const float alpha_over_n = c.alpha / static_cast<float>(c.local_size);
  lrn_forward_kernel<<<cuda::grid_for(s.count), cuda::kBlockSize, 0, stream>>>(
      s, c.k, alpha_over_n, c.beta, bottom[0]->data(), scale_->data(), top[0]->data());
  BANYAN_CUDA_CHECK_LAUNCH();
}

void LrnLayer::backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                            const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0]) return;
  if (use_cudnn_) {
    CHECK(tensor_desc_.get() != nullptr) << "layer " << name() << ": prepare_device did not run";
    const cudnnTensorDescriptor_t d = tensor_desc_.get();
    BANYAN_CUDNN_CHECK(cudnnLRNCrossChannelBackward(
        ctx.gpu().cudnn(), lrn_desc_.get(), CUDNN_LRN_CROSS_CHANNEL_DIM1, &kOne, d, top[0]->data(),
        d, top[0]->diff(), d, bottom[0]->data(), &kZero, d, bottom[0]->diff()));
    return;
  }
  const cudaStream_t stream = ctx.gpu().compute();
  cuda::check_stream(stream, "lrn backward");
  const LrnConfig& c = config_.lrn;
  if (within_channel_) {
    const WithinShape w = make_within_shape(height_, width_, bottom[0]->count(), c.local_size);
    if (w.count == 0) return;
    // The same float as lrn.cc's.
    const float coef = 2.0f * c.alpha * c.beta / w.n;
    lrn_within_backward_kernel<<<cuda::grid_for(w.count), cuda::kBlockSize, 0, stream>>>(
        w, c.beta, coef, bottom[0]->data(), top[0]->data(), top[0]->diff(), scale_->data(),
        bottom[0]->diff());
    BANYAN_CUDA_CHECK_LAUNCH();
    return;
  }
  const LrnShape s{channels_, plane_, bottom[0]->count(), c.local_size / 2};
  if (s.count == 0) return;
  const float coef = 2.0f * c.alpha * c.beta / static_cast<float>(c.local_size);
  lrn_backward_kernel<<<cuda::grid_for(s.count), cuda::kBlockSize, 0, stream>>>(
      s, c.beta, coef, bottom[0]->data(), top[0]->data(), top[0]->diff(), scale_->data(),
      bottom[0]->diff());
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace banyan
