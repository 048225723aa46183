// oneDNN MAX pooling for CPU workers: forward (training, with oneDNN's own
// index workspace) and backward primitives over NCHW, built once at setup.
// Caffe's rounding is kept by giving oneDNN the right padding that yields
// Caffe's output size; padding counts as -inf, as Caffe's clipped windows
// do.  (AVE pooling stays hand-written: Caffe's divisor counts the padding
// but not the overhang of ceil rounding, which no oneDNN mode matches.)
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "engine/core/status.h"
#include "engine/core/tensor.h"

namespace banyan {

struct PoolGeometry {
  int num = 0, channels = 0, height = 0, width = 0;
  int kernel_h = 0, kernel_w = 0, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  int pooled_h = 0, pooled_w = 0;
};

class DnnlMaxPooling {
 public:
  // Builds the primitives for `threads` OpenMP threads and allocates the
  // index workspace.  Errors: a geometry oneDNN refuses (the caller falls
  // back to its own code), out of memory.
  Status create(const PoolGeometry& g, int threads);
  std::string describe() const { return impl_; }

  void forward(const float* x, float* y);
  // dx = the gradient of the last forward's maxima (overwritten).
  void backward(const float* dy, float* dx);

 private:
  int threads_ = 1;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::pooling_v2_forward fwd_;
  dnnl::pooling_v2_backward bwd_;
  std::string impl_;
  Buffer indices_;  // oneDNN's workspace: which tap won, per output
  dnnl::memory src_, dst_, workspace_, diff_src_, diff_dst_;
  std::unordered_map<int, dnnl::memory> fwd_args_, bwd_args_;
};

}  // namespace banyan
