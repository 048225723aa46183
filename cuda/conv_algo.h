// Convolution algorithm choice, done once at setup (cudnn-frontend's rule:
// plan at setup, only execute in the step).  For one convolution shape the
// chooser measures cuDNN's forward, backward-data and backward-filter
// algorithms on caller-provided buffers (cudnnFind*AlgorithmEx), keeps the
// fastest that fits the workspace limit, and caches the answer by shape in
// an object the caller owns (a worker's context), not in a global.
#pragma once

#include <cudnn.h>

#include <cstddef>
#include <map>
#include <string>

#include "cuda/cudnn_desc.h"
#include "cuda/types.h"

namespace banyan::cuda {

// Everything that determines a 2-d convolution's algorithms.
struct ConvGeometry {
  int N = 0, C = 0, H = 0, W = 0;  // input
  int K = 0, R = 0, S = 0;         // K filters of (C / groups, R, S)
  int pad_h = 0, pad_w = 0, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int groups = 1;
  DataType type = DataType::kFloat32;
  Layout layout = Layout::kNchw;
  bool allow_tf32 = false;

  int out_h() const { return (H + 2 * pad_h - (dilation_h * (R - 1) + 1)) / stride_h + 1; }
  int out_w() const { return (W + 2 * pad_w - (dilation_w * (S - 1) + 1)) / stride_w + 1; }
  // "" when the numbers make a valid convolution, else what is wrong.
  std::string validate() const;
  // A compact, unique text of every field (the cache key).
  std::string key() const;
};

// The four cuDNN descriptors of one convolution: x (N, C, H, W), w (K, C /
// groups, R, S), y (N, K, out_h, out_w) and the convolution itself.
struct ConvDescriptors {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  // CHECKs geometry.validate() and that cuDNN computes the same output size.
  void set(const ConvGeometry& g);
};

// The chosen algorithms; workspace sizes in bytes (settle them with
// settle_conv_workspaces once the math types are set).  Set the conv
// descriptor's math type to the direction's before running it.
struct ConvAlgos {
  cudnnConvolutionFwdAlgo_t forward = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  size_t forward_workspace = 0;
  cudnnMathType_t forward_math = CUDNN_DEFAULT_MATH;
  cudnnConvolutionBwdDataAlgo_t backward_data = CUDNN_CONVOLUTION_BWD_DATA_ALGO_0;
  size_t backward_data_workspace = 0;
  cudnnMathType_t backward_data_math = CUDNN_DEFAULT_MATH;
  cudnnConvolutionBwdFilterAlgo_t backward_filter = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0;
  size_t backward_filter_workspace = 0;
  cudnnMathType_t backward_filter_math = CUDNN_DEFAULT_MATH;

  size_t max_workspace() const;
};

// Device buffers the measurement runs on, sized for the geometry.  x and w
// are read; y (read as dy too), dx and dw are overwritten, so they must not
// hold data the caller still needs; workspace is scratch of workspace_bytes.
struct ConvScratch {
  const void* x = nullptr;
  const void* w = nullptr;
  void* y = nullptr;
  void* dx = nullptr;
  void* dw = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

// Fixed algorithms, chosen without timing (GpuOptions::deterministic): for
// each direction the first of a fixed list of deterministic algorithms that
// cuDNN supports for `d` within `limit` bytes of workspace, GEMM-based first
// (forward IMPLICIT_PRECOMP_GEMM, IMPLICIT_GEMM, GEMM; backward data and
// filter ALGO_1, then FFT_TILING), so every run and every batch size gets
// the same algorithms and a direct sum's rounding.  Math types: d.conv's
// default (ConvDesc::default_math_type).  False with `*error` when a
// direction has none.
bool choose_fixed_conv_algos(cudnnHandle_t handle, const ConvDescriptors& d, size_t limit,
                             ConvAlgos* out, std::string* error);

// Sets each direction's workspace to what cuDNN reports for its chosen
// algorithm with the convolution descriptor it will run with (query after
// that descriptor's math type is set: another math type can need another
// workspace), never below the size the algorithm was chosen with.  False
// with `*error` when cuDNN does not support an algorithm with its descriptor.
bool settle_conv_workspaces(cudnnHandle_t handle, const ConvDescriptors& d,
                            const ConvDesc& backward_data, const ConvDesc& backward_filter,
                            ConvAlgos* algos, std::string* error);

class ConvAlgoCache {
 public:
  // workspace_limit: the most workspace an algorithm may take (bytes);
  // deterministic: only algorithms cuDNN reports as deterministic.
  explicit ConvAlgoCache(size_t workspace_limit, bool deterministic = false)
      : workspace_limit_(workspace_limit), deterministic_(deterministic) {}
  ConvAlgoCache(const ConvAlgoCache&) = delete;
  ConvAlgoCache& operator=(const ConvAlgoCache&) = delete;
  ConvAlgoCache(ConvAlgoCache&&) = default;
  ConvAlgoCache& operator=(ConvAlgoCache&&) = default;

  // The cached algorithms for `g`, or measures them with `handle` (its stream
  // is synchronised: setup only).  The limit used is the smaller of the
  // cache's and scratch.workspace_bytes.  False with `*error` when a
  // direction has no algorithm within the limit or the geometry is invalid.
  bool choose(cudnnHandle_t handle, const ConvGeometry& g, const ConvScratch& scratch,
              ConvAlgos* out, std::string* error);

  size_t size() const { return cache_.size(); }
  size_t workspace_limit() const { return workspace_limit_; }

 private:
  size_t workspace_limit_;
  bool deterministic_;
  std::map<std::string, ConvAlgos> cache_;
};

}  // namespace banyan::cuda
