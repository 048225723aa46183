// Convolution algorithm measurement and caching.  cudnnFind*AlgorithmEx
// returns its results ordered by measured time; the first one that succeeded,
// fits the workspace and (when asked) is deterministic wins.
#include "cuda/conv_algo.h"

#include <glog/logging.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "cuda/check.h"

namespace banyan::cuda {
namespace {

// Index of the fastest usable result, or -1.
template <typename Perf>
int pick(const std::vector<Perf>& perf, int returned, size_t limit, bool deterministic) {
  for (int i = 0; i < returned; ++i) {
    const Perf& p = perf[static_cast<size_t>(i)];
    if (p.status != CUDNN_STATUS_SUCCESS || p.memory > limit) continue;
    if (deterministic && p.determinism != CUDNN_DETERMINISTIC) continue;
    return i;
  }
  return -1;
}

std::string none_fits(const char* direction, const ConvGeometry& g, size_t limit) {
  return std::string("no cuDNN ") + direction + " algorithm for convolution " + g.key() +
         " runs within " + std::to_string(limit) + " bytes of workspace";
}

}  // namespace

std::string ConvGeometry::validate() const {
  std::ostringstream e;
  if (N < 1 || C < 1 || H < 1 || W < 1 || K < 1 || R < 1 || S < 1) {
    e << "convolution sizes must be positive";
  } else if (pad_h < 0 || pad_w < 0 || stride_h < 1 || stride_w < 1 || dilation_h < 1 ||
             dilation_w < 1) {
    e << "bad padding, stride or dilation";
  } else if (groups < 1 || C % groups != 0 || K % groups != 0) {
    e << "groups " << groups << " must divide channels " << C << " and filters " << K;
  } else if (out_h() < 1 || out_w() < 1) {
    e << "the filter does not fit the padded input";
  }
  return e.str().empty() ? std::string() : e.str() + " (" + key() + ")";
}

std::string ConvGeometry::key() const {
  std::ostringstream k;
  k << "x" << N << "," << C << "," << H << "," << W << " w" << K << "," << R << "," << S << " p"
    << pad_h << "," << pad_w << " s" << stride_h << "," << stride_w << " d" << dilation_h << ","
    << dilation_w << " g" << groups << " " << data_type_name(type)
    << (layout == Layout::kNchw ? " nchw" : " nhwc") << (allow_tf32 ? " tf32" : "");
  return k.str();
}

void ConvDescriptors::set(const ConvGeometry& g) {
  const std::string invalid = g.validate();
  CHECK(invalid.empty()) << invalid;
  x.set(g.layout, g.type, g.N, g.C, g.H, g.W);
  w.set(g.layout, g.type, g.K, g.C / g.groups, g.R, g.S);
  conv.set(g.pad_h, g.pad_w, g.stride_h, g.stride_w, g.dilation_h, g.dilation_w, g.groups, g.type,
           g.allow_tf32);
  int n = 0, c = 0, h = 0, wd = 0;
  BANYAN_CUDNN_CHECK(
      cudnnGetConvolution2dForwardOutputDim(conv.get(), x.get(), w.get(), &n, &c, &h, &wd));
  CHECK(n == g.N && c == g.K && h == g.out_h() && wd == g.out_w())
      << "cuDNN output " << n << "x" << c << "x" << h << "x" << wd << " differs from " << g.N << "x"
      << g.K << "x" << g.out_h() << "x" << g.out_w() << " for " << g.key();
  y.set(g.layout, g.type, g.N, g.K, g.out_h(), g.out_w());
}

size_t ConvAlgos::max_workspace() const {
  return std::max({forward_workspace, backward_data_workspace, backward_filter_workspace});
}

bool choose_fixed_conv_algos(cudnnHandle_t handle, const ConvDescriptors& d, size_t limit,
                             ConvAlgos* out, std::string* error) {
  ConvAlgos a;
  size_t bytes = 0;
  auto fits = [&](cudnnStatus_t status) {
    return status == CUDNN_STATUS_SUCCESS && bytes <= limit;
  };
  bool found = false;
  for (cudnnConvolutionFwdAlgo_t algo :
       {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
        CUDNN_CONVOLUTION_FWD_ALGO_GEMM}) {
    if (fits(cudnnGetConvolutionForwardWorkspaceSize(handle, d.x.get(), d.w.get(), d.conv.get(),
                                                     d.y.get(), algo, &bytes))) {
      a.forward = algo;
      a.forward_workspace = bytes;
      found = true;
      break;
    }
  }
  auto fail = [error](const char* direction, size_t limit) {
    if (error != nullptr) {
      *error = std::string("no fixed deterministic cuDNN ") + direction +
               " algorithm runs within " + std::to_string(limit) + " bytes of workspace";
    }
    return false;
  };
  if (!found) return fail("forward", limit);
  found = false;
  for (cudnnConvolutionBwdDataAlgo_t algo :
       {CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING}) {
    if (fits(cudnnGetConvolutionBackwardDataWorkspaceSize(handle, d.w.get(), d.y.get(),
                                                          d.conv.get(), d.x.get(), algo, &bytes))) {
      a.backward_data = algo;
      a.backward_data_workspace = bytes;
      found = true;
      break;
    }
  }
  if (!found) return fail("backward-data", limit);
  found = false;
  for (cudnnConvolutionBwdFilterAlgo_t algo :
       {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING}) {
    if (fits(cudnnGetConvolutionBackwardFilterWorkspaceSize(
            handle, d.x.get(), d.y.get(), d.conv.get(), d.w.get(), algo, &bytes))) {
      a.backward_filter = algo;
      a.backward_filter_workspace = bytes;
      found = true;
      break;
    }
  }
  if (!found) return fail("backward-filter", limit);
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  BANYAN_CUDNN_CHECK(cudnnGetConvolutionMathType(d.conv.get(), &math));
  a.forward_math = a.backward_data_math = a.backward_filter_math = math;
  *out = a;
  return true;
}

bool settle_conv_workspaces(cudnnHandle_t handle, const ConvDescriptors& d,
                            const ConvDesc& backward_data, const ConvDesc& backward_filter,
                            ConvAlgos* algos, std::string* error) {
  size_t fwd = 0, data = 0, filter = 0;
  std::string e = BANYAN_CUDNN_ERROR(cudnnGetConvolutionForwardWorkspaceSize(
      handle, d.x.get(), d.w.get(), d.conv.get(), d.y.get(), algos->forward, &fwd));
  if (e.empty()) {
    e = BANYAN_CUDNN_ERROR(cudnnGetConvolutionBackwardDataWorkspaceSize(
        handle, d.w.get(), d.y.get(), backward_data.get(), d.x.get(), algos->backward_data, &data));
  }
  if (e.empty()) {
    e = BANYAN_CUDNN_ERROR(cudnnGetConvolutionBackwardFilterWorkspaceSize(
        handle, d.x.get(), d.y.get(), backward_filter.get(), d.w.get(), algos->backward_filter,
        &filter));
  }
  if (!e.empty()) {
    if (error != nullptr) *error = e;
    return false;
  }
  algos->forward_workspace = std::max(algos->forward_workspace, fwd);
  algos->backward_data_workspace = std::max(algos->backward_data_workspace, data);
  algos->backward_filter_workspace = std::max(algos->backward_filter_workspace, filter);
  return true;
}

bool ConvAlgoCache::choose(cudnnHandle_t handle, const ConvGeometry& g, const ConvScratch& scratch,
                           ConvAlgos* out, std::string* error) {
  const std::string key = g.key();
  if (auto it = cache_.find(key); it != cache_.end()) {
    *out = it->second;
    return true;
  }
  auto fail = [error](const std::string& e) {
    if (error != nullptr) *error = e;
    return false;
  };
  if (std::string e = g.validate(); !e.empty()) return fail(e);
  CHECK(scratch.x != nullptr && scratch.w != nullptr && scratch.y != nullptr &&
        scratch.dx != nullptr && scratch.dw != nullptr)
      << "ConvAlgoCache::choose: null scratch buffer";
  const size_t limit = std::min(workspace_limit_, scratch.workspace_bytes);
  ConvDescriptors d;
  d.set(g);
  ConvAlgos algos;

  int count = 0, returned = 0;
  BANYAN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(handle, &count));
  std::vector<cudnnConvolutionFwdAlgoPerf_t> fwd(static_cast<size_t>(count));
  std::string e = BANYAN_CUDNN_ERROR(cudnnFindConvolutionForwardAlgorithmEx(
      handle, d.x.get(), scratch.x, d.w.get(), scratch.w, d.conv.get(), d.y.get(), scratch.y, count,
      &returned, fwd.data(), scratch.workspace, limit));
  if (!e.empty()) return fail(e);
  const int f = pick(fwd, returned, limit, deterministic_);
  if (f < 0) return fail(none_fits("forward", g, limit));
  algos.forward = fwd[static_cast<size_t>(f)].algo;
  algos.forward_workspace = fwd[static_cast<size_t>(f)].memory;
  algos.forward_math = fwd[static_cast<size_t>(f)].mathType;

  BANYAN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, &count));
  std::vector<cudnnConvolutionBwdDataAlgoPerf_t> bwd_data(static_cast<size_t>(count));
  e = BANYAN_CUDNN_ERROR(cudnnFindConvolutionBackwardDataAlgorithmEx(
      handle, d.w.get(), scratch.w, d.y.get(), scratch.y, d.conv.get(), d.x.get(), scratch.dx,
      count, &returned, bwd_data.data(), scratch.workspace, limit));
  if (!e.empty()) return fail(e);
  const int bd = pick(bwd_data, returned, limit, deterministic_);
  if (bd < 0) return fail(none_fits("backward-data", g, limit));
  algos.backward_data = bwd_data[static_cast<size_t>(bd)].algo;
  algos.backward_data_workspace = bwd_data[static_cast<size_t>(bd)].memory;
  algos.backward_data_math = bwd_data[static_cast<size_t>(bd)].mathType;

  BANYAN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(handle, &count));
  std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> bwd_filter(static_cast<size_t>(count));
  e = BANYAN_CUDNN_ERROR(cudnnFindConvolutionBackwardFilterAlgorithmEx(
      handle, d.x.get(), scratch.x, d.y.get(), scratch.y, d.conv.get(), d.w.get(), scratch.dw,
      count, &returned, bwd_filter.data(), scratch.workspace, limit));
  if (!e.empty()) return fail(e);
  const int bf = pick(bwd_filter, returned, limit, deterministic_);
  if (bf < 0) return fail(none_fits("backward-filter", g, limit));
  algos.backward_filter = bwd_filter[static_cast<size_t>(bf)].algo;
  algos.backward_filter_workspace = bwd_filter[static_cast<size_t>(bf)].memory;
  algos.backward_filter_math = bwd_filter[static_cast<size_t>(bf)].mathType;

  cache_.emplace(key, algos);
  *out = algos;
  return true;
}

}  // namespace banyan::cuda
