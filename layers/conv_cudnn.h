// The cuDNN plan of one 2-D convolution (CUDA builds), shared by Convolution
// and Deconvolution, which runs the same convolution with the forward and
// backward-data directions swapped.  Built once at prepare_device (descriptors,
// algorithms measured, or fixed under GpuOptions::deterministic, and their
// workspaces for the math types they run with); forward/backward only execute it.
#pragma once

#ifdef BANYAN_WITH_CUDA

#include <cstddef>
#include <string>

#include "cuda/conv_algo.h"
#include "cuda/cudnn_desc.h"
#include "engine/core/status.h"

namespace banyan {

class GpuResources;  // engine/core/gpu_resources.h

struct CudnnConvPlan {
  cuda::ConvDescriptors desc;  // x, y, w and the forward convolution
  // The same convolution with the math type of each backward algorithm.
  cuda::ConvDesc backward_data, backward_filter;
  cuda::TensorDesc bias;  // (1, bias_channels, 1, 1)
  cuda::ConvAlgos algos;
  bool ready = false;

  // Builds the plan for `g` with the worker's handles (synchronises its
  // compute stream when measuring), choosing the algorithms through `cache`.
  // `layer` names the layer in warnings and in the ResourceExhausted error
  // (no device memory to measure on); other errors are InvalidArgument with
  // a message the caller prefixes with the layer (an invalid geometry, no
  // algorithm within the workspace limit).
  Status build(const GpuResources& gpu, const cuda::ConvGeometry& g, int bias_channels,
               const std::string& layer, cuda::ConvAlgoCache* cache);
  // The largest workspace of the three chosen algorithms, in floats (rounded up).
  size_t workspace_floats() const;

 private:
  // Sets the three descriptors' math types for `algos` and sizes their
  // workspaces from cuDNN for those math types.
  Status settle(const GpuResources& gpu, bool allow_tf32, cuda::ConvAlgos* algos);
};

}  // namespace banyan

#endif  // BANYAN_WITH_CUDA
