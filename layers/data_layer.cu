// Data layer on a CUDA worker: the pinned uint8 batch (pixels, labels, crop
// offsets, mirror flags in one block) goes to a device staging buffer with
// one asynchronous copy on the upload stream; the compute stream waits for
// it through an event, converts (cuda::convert_input: mean, scale) into
// top[0] and copies the labels.  No allocation and no host-blocking sync in
// the step: a batch's host buffer goes back to the pipeline at a later
// forward once cudaEventQuery says its copy completed (the host waits only
// when max_held batches are still uploading, or at a restart, or at teardown).
#include "layers/data_layer.h"

#include <deque>

#include "cuda/check.h"
#include "cuda/input_convert.h"
#include "cuda/memory.h"
#include "cuda/stream.h"
#include "engine/core/gpu_resources.h"

namespace banyan {

struct DataLayer::GpuState {
  struct InFlight {
    Batch* batch = nullptr;
    int event = 0;
  };

  // Releases uploaded batches, oldest first: those whose copy finished, or
  // (wait) every one, blocking on its event.
  void reclaim(bool wait) {
    while (!in_flight.empty()) {
      const InFlight f = in_flight.front();
      if (!events[f.event].query()) {
        if (!wait) return;
        events[f.event].synchronize();
      }
      pipeline->release(f.batch);
      free_events.push_back(f.event);
      in_flight.pop_front();
    }
  }

  Pipeline* pipeline = nullptr;
  cuda::DeviceBuffer staging;  // one batch in the Batch::host layout
  cuda::DeviceBuffer mean;     // (C, H, W) mean image or (C) channel means; empty: none
  bool mean_is_image = false;
  cuda::Event consumed;  // compute stream done reading staging
  bool consumed_recorded = false;
  std::vector<cuda::Event> events;  // one per batch that may be uploading
  std::vector<int> free_events;
  std::deque<InFlight> in_flight;
};

void DataLayer::GpuStateDeleter::operator()(GpuState* state) const {
  state->reclaim(/*wait=*/true);
  delete state;
}

Status DataLayer::prepare_device(WorkerContext& ctx) {
  CHECK(pipeline_ != nullptr) << where() << ": prepare_device before setup";
  const int device = ctx.gpu().ordinal();
  gpu_.reset(new GpuState);
  GpuState& g = *gpu_;
  g.pipeline = pipeline_.get();
  std::string err;
  if (!g.staging.allocate(device, pipeline_->batch_host_bytes(), &err)) {
    return Status::resource_exhausted(where() + ": input staging buffer: " + err);
  }
  const DataTransformer& t = pipeline_->transformer();
  const std::vector<float>& mean = t.mean_image().empty() ? t.mean_channel() : t.mean_image();
  g.mean_is_image = !t.mean_image().empty();
  if (!mean.empty()) {
    if (!g.mean.allocate(device, mean.size() * sizeof(float), &err)) {
      return Status::resource_exhausted(where() + ": mean: " + err);
    }
    cuda::copy_async(g.mean.data(), mean.data(), mean.size() * sizeof(float), ctx.gpu().compute());
    BANYAN_RETURN_IF_ERROR(ctx.gpu().synchronize(where() + ": mean upload"));
  }
  g.consumed = cuda::Event(device);
  for (int i = 0; i < kGpuHeldBatches; ++i) {
    g.events.emplace_back(device);
    g.free_events.push_back(i);
  }
  return Status::success();
}

void DataLayer::forward_gpu(const std::vector<Blob*>& /*bottom*/, const std::vector<Blob*>& top,
                            WorkerContext& ctx) {
  CHECK(gpu_ != nullptr) << where() << ": forward_gpu before prepare_device";
  GpuState& g = *gpu_;
  const BatchRequest request = request_for(ctx);
  // A restart needs every batch back; otherwise only make room for one more.
  g.reclaim(/*wait=*/!pipeline_->continues(request));
  if (g.free_events.empty()) {
    g.events[g.in_flight.front().event].synchronize();
    g.reclaim(false);
  }
  Batch* b = acquire(request, ctx);
  if (b == nullptr) return;  // reported on ctx
  const cudaStream_t upload = ctx.gpu().upload(), compute = ctx.gpu().compute();
  if (g.consumed_recorded) g.consumed.wait_on(upload);  // staging free again
  uint8_t* staging = g.staging.as<uint8_t>();
  cuda::copy_async(staging, b->host.data(), b->host.bytes(), upload);
  const bool is_float = pipeline_->format().is_float;
  const int n = b->size();
  const size_t count = pipeline_->sample_count();
  const int e = g.free_events.back();
  g.free_events.pop_back();
  g.events[e].record(upload);
  g.events[e].wait_on(compute);
  g.in_flight.push_back({b, e});
  if (is_float) {
    // float_data sets: the final values came up with the batch; a
    // device-to-device copy on the compute stream (never from pageable
    // memory, which would synchronise the stream).
    cuda::copy_async(top[0]->data(), staging, sizeof(float) * count * n, compute);
  } else {
    const DataTransformer& t = pipeline_->transformer();
    cuda::InputConvertArgs args;
    args.N = n;
    args.C = t.channels();
    args.H = t.out_height();
    args.W = t.out_width();
    args.scale = t.scale();
    if (!g.mean.empty()) {
      (g.mean_is_image ? args.mean_image : args.mean_channel) = g.mean.as<float>();
    }
    args.mean_height = t.height();
    args.mean_width = t.width();
    args.h_off = reinterpret_cast<const int32_t*>(staging + b->h_off_offset());
    args.w_off = reinterpret_cast<const int32_t*>(staging + b->w_off_offset());
    args.mirror = staging + b->mirror_offset();
    cuda::convert_input(args, staging, top[0]->data(), compute);
  }
  if (top.size() > 1) {
    cuda::copy_async(top[1]->data(), staging + b->labels_offset(), sizeof(float) * n, compute);
  }
  g.consumed.record(compute);
  g.consumed_recorded = true;
  pipeline_->count_upload(static_cast<int64_t>(b->host.bytes()));
}

}  // namespace banyan
