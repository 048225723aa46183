// oneDNN convolution plan for CPU workers: the forward, backward-data and
// backward-weights primitives of one convolution, built once at setup and
// only executed afterwards.  Blobs stay NCHW (Caffe's layout, what every
// other layer reads); each primitive works in the blocked layout oneDNN
// chooses for the shape, and the plan reorders into and out of it through
// the worker's workspace.  Parameter gradients accumulate (the reorder of
// the weight gradient adds into the parameter's diff), as the layer
// contract asks.  Results are bitwise repeatable for a fixed thread count.
#pragma once

#include <cstddef>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "engine/core/status.h"
#include "layers/im2col.h"

namespace banyan {

class DnnlConvolution {
 public:
  // x (N, C, H, W) -> y (N, K, Ho, Wo) with weights (K, C/group, kh, kw)
  // and, when `bias`, a bias (K).  `threads`: the OpenMP threads the
  // primitives are built for and run with.  Errors: a configuration
  // oneDNN has no implementation for (the caller falls back).
  Status create(const ConvGeometry& g, int num, int out_channels, int group, bool bias,
                int threads);

  // Scratch for one forward or backward call (both sequences of reorders
  // and the primitives' own scratchpad), in floats.
  size_t workspace_floats() const { return workspace_floats_; }
  // Which oneDNN implementations were picked (for the log and benchmarks).
  std::string describe() const;

  void forward(const float* x, const float* w, const float* b, float* y, float* workspace);
  // dw += dW, db += db (when the plan has a bias), dx = dX when dx != nullptr.
  void backward(const float* x, const float* w, const float* dy, float* dw, float* db, float* dx,
                float* workspace);

 private:
  // One argument of a primitive: the user's NCHW/OIHW memory, the layout the
  // primitive wants and, when they differ, a place in the workspace and the
  // reorder between them.
  struct Staged {
    dnnl::memory user, inner;
    dnnl::reorder reorder;  // user -> inner for inputs, inner -> user for outputs
    std::unordered_map<int, dnnl::memory> reorder_args;
    size_t offset = 0;  // bytes into the workspace
    bool same = true;
  };
  struct Carver;

  Status stage(const dnnl::memory::desc& user, const dnnl::memory::desc& inner, bool input,
               bool accumulate, Carver* carver, Staged* out);
  // Points `s` at the user's buffer and its workspace slot, reordering inputs.
  void stage_in(Staged& s, const void* user, char* ws);
  void stage_out(Staged& s, void* user, char* ws);

  int threads_ = 1;
  bool bias_ = false;
  int out_channels_ = 0;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::convolution_forward fwd_;
  dnnl::convolution_backward_data bwd_data_;
  dnnl::convolution_backward_weights bwd_weights_;
  std::string impl_fwd_, impl_bwd_data_, impl_bwd_weights_;
  // Forward: x, w in, y out.  Backward data: w, dy in, dx out.  Backward
  // weights: x, dy in, dw out (accumulating).
  Staged f_src_, f_wei_, f_dst_;
  Staged d_wei_, d_ddst_, d_dsrc_;
  Staged w_src_, w_ddst_, w_dwei_;
  dnnl::memory bias_mem_, diff_bias_mem_, scratch_fwd_, scratch_bwd_data_, scratch_bwd_weights_;
  size_t diff_bias_offset_ = 0, scratch_fwd_offset_ = 0, scratch_bwd_data_offset_ = 0,
         scratch_bwd_weights_offset_ = 0;
  std::unordered_map<int, dnnl::memory> fwd_args_, bwd_data_args_, bwd_weights_args_;
  size_t workspace_floats_ = 0;
};

}  // namespace banyan
