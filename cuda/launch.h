// Launch geometry shared by the kernel launchers: one block size and a grid
// capped so that grid-stride loops cover any n; the explicit-stream check.
// Plain C++, included by the .cu files only.
#pragma once

#include <cuda_runtime_api.h>
#include <glog/logging.h>

#include <algorithm>
#include <cstdint>

namespace banyan::cuda {

inline constexpr int kBlockSize = 256;
// 2^16 blocks of 256 threads keep every SM of current GPUs busy; larger
// arrays are covered by the grid-stride loops.
inline constexpr int64_t kMaxBlocks = int64_t{1} << 16;

// Blocks for n elements, one element per thread, at least 1.
inline unsigned grid_for(int64_t n, int block = kBlockSize) {
  const int64_t blocks = (n + block - 1) / block;
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, kMaxBlocks));
}

// Every launcher takes an explicit stream; the legacy default stream (null)
// would serialise with all other work and is never used (STYLE).
inline void check_stream(cudaStream_t stream, const char* op) {
  CHECK(stream != nullptr) << op << ": kernels run on an explicit stream, not the default stream";
}

}  // namespace banyan::cuda
