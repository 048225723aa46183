// Transfer layers on CUDA workers: each direction of a channel stages
// through a buffer on the reading device.  The writer's stream waits for the
// previous pass's drain, peer-copies into the staging buffer and records
// `filled`; the reader's stream waits for `filled`, copies out and records
// `drained`.  The host only orders the enqueues through the mailbox flags.
#include "layers/transfer.h"

#include "cuda/memory.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

Status prepare_lane(Buffer* staging, int* staging_device, int device, int64_t count) {
  *staging_device = device;
  return Buffer::allocate(Device::cuda(device), static_cast<size_t>(count) * sizeof(float), staging)
      .with_context("transfer staging buffer on cuda:" + std::to_string(device));
}

}  // namespace

Status TransferChannel::prepare_gpu_sender(int device, int64_t count) {
  std::lock_guard<std::mutex> lock(mu_);
  forward_.filled = cuda::Event(device);
  backward_.drained = cuda::Event(device);
  return prepare_lane(&backward_.staging, &backward_.staging_device, device, count);
}

Status TransferChannel::prepare_gpu_receiver(int device, int64_t count) {
  std::lock_guard<std::mutex> lock(mu_);
  forward_.drained = cuda::Event(device);
  backward_.filled = cuda::Event(device);
  return prepare_lane(&forward_.staging, &forward_.staging_device, device, count);
}

bool TransferChannel::put_forward_gpu(const float* data, int64_t count, int device,
                                      cudaStream_t stream) {
  return put(&forward_, [&] {
    forward_.drained.wait_on(stream);
    cuda::copy_peer_async(forward_.staging.data(), forward_.staging_device, data, device,
                          static_cast<size_t>(count) * sizeof(float), stream);
    forward_.filled.record(stream);
  });
}

bool TransferChannel::take_forward_gpu(float* data, int64_t count, cudaStream_t stream) {
  return take(&forward_, [&] {
    forward_.filled.wait_on(stream);
    cuda::copy_async(data, forward_.staging.data(), static_cast<size_t>(count) * sizeof(float),
                     stream);
    forward_.drained.record(stream);
  });
}

bool TransferChannel::put_backward_gpu(const float* diff, int64_t count, int device,
                                       cudaStream_t stream) {
  return put(&backward_, [&] {
    backward_.drained.wait_on(stream);
    cuda::copy_peer_async(backward_.staging.data(), backward_.staging_device, diff, device,
                          static_cast<size_t>(count) * sizeof(float), stream);
    backward_.filled.record(stream);
  });
}

bool TransferChannel::take_backward_gpu(float* diff, int64_t count, cudaStream_t stream) {
  return take(&backward_, [&] {
    backward_.filled.wait_on(stream);
    cuda::copy_async(diff, backward_.staging.data(), static_cast<size_t>(count) * sizeof(float),
                     stream);
    backward_.drained.record(stream);
  });
}

void TransferSendLayer::forward_gpu(const std::vector<Blob*>& bottom,
                                    const std::vector<Blob*>& /*top*/, WorkerContext& ctx) {
  channel_->put_forward_gpu(bottom[0]->data(), bottom[0]->count(), ctx.device().id,
                            ctx.gpu().compute());
}

void TransferSendLayer::backward_gpu(const std::vector<Blob*>& /*top*/,
                                     const std::vector<bool>& /*propagate_down*/,
                                     const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (needs_grad_) {
    channel_->take_backward_gpu(bottom[0]->diff(), bottom[0]->count(), ctx.gpu().compute());
  }
}

void TransferRecvLayer::forward_gpu(const std::vector<Blob*>& /*bottom*/,
                                    const std::vector<Blob*>& top, WorkerContext& ctx) {
  channel_->take_forward_gpu(top[0]->data(), top[0]->count(), ctx.gpu().compute());
}

void TransferRecvLayer::backward_gpu(const std::vector<Blob*>& top,
                                     const std::vector<bool>& /*propagate_down*/,
                                     const std::vector<Blob*>& /*bottom*/, WorkerContext& ctx) {
  if (needs_grad_) {
    channel_->put_backward_gpu(top[0]->diff(), top[0]->count(), ctx.device().id,
                               ctx.gpu().compute());
  }
}

}  // namespace banyan
