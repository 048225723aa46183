// DummyData on a CUDA worker: one kernel per top that needs a fill, each
// thread computing element_fill (the CPU filler's formula) for its elements
// on the compute stream.  No host work per element, no copy, no sync.
#include "layers/dummy_data.h"

#include "cuda/check.h"
#include "cuda/kernel_util.cuh"
#include "cuda/launch.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

__global__ void dummy_fill_kernel(ElementFiller f, uint64_t key, int64_t count,
                                  float* out) {  // out (count)
  for (int64_t i = cuda::grid_start(); i < count; i += cuda::grid_stride()) {
    out[i] = element_fill(f, key, static_cast<uint64_t>(i));
  }
}

void dummy_fill(const ElementFiller& f, uint64_t key, int64_t count, float* out,
                cudaStream_t stream) {
  CHECK_GE(count, 0) << "dummy_fill";
  cuda::check_stream(stream, "dummy_fill");
  if (count == 0) return;
  CHECK(out != nullptr) << "dummy_fill: null pointer";
  dummy_fill_kernel<<<cuda::grid_for(count), cuda::kBlockSize, 0, stream>>>(f, key, count, out);
  BANYAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void DummyDataLayer::forward_gpu(const std::vector<Blob*>& /*bottom*/,
                                 const std::vector<Blob*>& top, WorkerContext& ctx) {
  for (size_t i = 0; i < top.size(); ++i) {
    const int t = static_cast<int>(i);
    if (!needs_fill(t, top[i]->data())) continue;
    dummy_fill(plan(t), fill_key(t, ctx), top[i]->count(), top[i]->data(), ctx.gpu().compute());
  }
}

}  // namespace banyan
