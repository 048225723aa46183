// HDF5Data on a CUDA worker: the batch's rows gathered on the host into one
// of kStagingBuffers pinned buffers, then one asynchronous copy per top on
// the compute stream.  A buffer is rewritten only after its previous copy
// finished (an event recorded after it; normally long done), so the step
// never waits on the device otherwise and allocates nothing.
#include "layers/hdf5_data.h"

#include <glog/logging.h>

#include "cuda/check.h"
#include "cuda/memory.h"
#include "cuda/stream.h"
#include "engine/core/gpu_resources.h"

namespace banyan {

struct Hdf5DataLayer::GpuState {
  cuda::PinnedBuffer staging[kStagingBuffers];
  cuda::Event copied[kStagingBuffers];
  bool used[kStagingBuffers] = {};
  std::vector<float*> rows[kStagingBuffers];  // per buffer: where each top's rows go
  std::vector<size_t> bytes;                  // per top: one batch
  int next = 0;
};

void Hdf5DataLayer::GpuStateDeleter::operator()(GpuState* state) const {
  for (int k = 0; k < kStagingBuffers; ++k) {
    if (state->used[k]) state->copied[k].synchronize();  // copies still read the buffers
  }
  delete state;
}

Status Hdf5DataLayer::prepare_device(WorkerContext& ctx) {
  CHECK(!row_floats_.empty()) << "layer '" << name() << "': prepare_device before setup";
  const int device = ctx.gpu().ordinal();
  gpu_.reset(new GpuState);
  GpuState& g = *gpu_;
  size_t total = 0;
  for (int64_t w : row_floats_) {
    g.bytes.push_back(sizeof(float) * static_cast<size_t>(w) * batch_size_);
    total += g.bytes.back();
  }
  for (int k = 0; k < kStagingBuffers; ++k) {
    std::string err;
    if (!g.staging[k].allocate(total, &err)) {
      return Status::resource_exhausted(error("pinned staging: " + err).message());
    }
    g.copied[k] = cuda::Event(device);
    char* p = static_cast<char*>(g.staging[k].data());
    for (size_t b : g.bytes) {
      g.rows[k].push_back(reinterpret_cast<float*>(p));
      p += b;
    }
  }
  return Status::success();
}

void Hdf5DataLayer::forward_gpu(const std::vector<Blob*>& /*bottom*/, const std::vector<Blob*>& top,
                                WorkerContext& ctx) {
  CHECK(gpu_ != nullptr) << "layer '" << name() << "': forward_gpu before prepare_device";
  GpuState& g = *gpu_;
  const int k = g.next;
  g.next = (k + 1) % kStagingBuffers;
  if (g.used[k]) g.copied[k].synchronize();  // the copy of kStagingBuffers passes ago
  if (!gather(ctx, g.rows[k])) return;       // reported on ctx
  const cudaStream_t compute = ctx.gpu().compute();
  for (size_t t = 0; t < top.size(); ++t) {
    cuda::copy_async(top[t]->data(), g.rows[k][t], g.bytes[t], compute);
  }
  g.copied[k].record(compute);
  g.used[k] = true;
}

}  // namespace banyan
