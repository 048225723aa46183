// Transfer layers: where a blob crosses partitions of a worker group, the
// net builder puts a TransferSend on the producer's worker and a
// TransferRecv on the consumer's worker, joined by a TransferChannel that
// the group owns (TransferHub).  Forward copies the activations from send to
// recv; backward copies the gradient from recv back to send.  The host side
// is a mailbox guarded by a mutex and condition variables, abortable so that
// a failing worker never leaves its peers waiting.  CPU workers copy under
// the lock; CUDA workers only enqueue a peer copy into a staging buffer on
// the reading device and order it with events (no host syncs).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "layers/layer.h"
#ifdef BANYAN_WITH_CUDA
#include <cuda_runtime_api.h>

#include "cuda/stream.h"
#endif

namespace banyan {

// One crossing edge: a one-slot mailbox each way.  The sender's setup
// publishes the shape and whether gradients flow back; the receiver's setup
// waits for it.  Each pass, the sender's forward waits for a free slot and
// fills it, the receiver's forward waits for it to be full and empties it;
// backward the same the other way.  Thread-safe (one sender, one receiver).
// Every wait returns false once abort() was called.
class TransferChannel {
 public:
  void publish(const Shape& shape, DType dtype, bool needs_grad);
  bool wait_published(Shape* shape, DType* dtype, bool* needs_grad);
  bool put_forward(const float* data, int64_t count);
  bool take_forward(float* data, int64_t count);
  bool put_backward(const float* diff, int64_t count);
  bool take_backward(float* diff, int64_t count);
  void abort();

#ifdef BANYAN_WITH_CUDA
  // CUDA ends (setup, each on its own worker's thread): the sender on
  // `device` allocates the backward staging buffer and its events, the
  // receiver the forward ones.  Errors name the device.
  Status prepare_gpu_sender(int device, int64_t count);
  Status prepare_gpu_receiver(int device, int64_t count);
  // As the host versions, but the copies are queued on `stream` (of the
  // caller's device `device`): a writer waits on the staging buffer being
  // drained, copies into it (peer copy) and records `filled`; a reader waits
  // on `filled`, copies out and records `drained`.
  bool put_forward_gpu(const float* data, int64_t count, int device, cudaStream_t stream);
  bool take_forward_gpu(float* data, int64_t count, cudaStream_t stream);
  bool put_backward_gpu(const float* diff, int64_t count, int device, cudaStream_t stream);
  bool take_backward_gpu(float* diff, int64_t count, cudaStream_t stream);
#endif

 private:
  struct Slot {
    std::vector<float> values;
    bool full = false;
#ifdef BANYAN_WITH_CUDA
    // One direction on CUDA workers: staging on the reader's device,
    // `filled` on the writer's, `drained` on the reader's.
    Buffer staging;
    int staging_device = 0;
    cuda::Event filled, drained;
#endif
  };
  // Wait for the slot to be free / full, then run `copy` under the lock.
  template <typename Copy>
  bool put(Slot* slot, Copy copy);
  template <typename Copy>
  bool take(Slot* slot, Copy copy);

  std::mutex mu_;
  std::condition_variable cv_;
  bool published_ = false;
  Shape shape_;
  DType dtype_ = DType::kFloat32;
  bool needs_grad_ = false;
  Slot forward_, backward_;
  bool aborted_ = false;
};

template <typename Copy>
bool TransferChannel::put(Slot* slot, Copy copy) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return aborted_ || !slot->full; });
  if (aborted_) return false;
  copy();
  slot->full = true;
  cv_.notify_all();
  return true;
}

template <typename Copy>
bool TransferChannel::take(Slot* slot, Copy copy) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return aborted_ || slot->full; });
  if (aborted_) return false;
  copy();
  slot->full = false;
  cv_.notify_all();
  return true;
}

// The channels of one worker group, by key (the builder names them after
// the net, the blob version and the receiving partition).  Thread-safe.
class TransferHub {
 public:
  // The channel for `key`, created on first use; owned by the hub.
  TransferChannel* channel(const std::string& key);
  // Aborts every channel, present and future; the first reason sticks.
  void abort(const std::string& reason);
  bool aborted() const { return aborted_.load(); }
  std::string reason() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<TransferChannel>> channels_;
  std::atomic<bool> aborted_{false};
  std::string reason_;
};

// Sends bottom[0] (no tops) over `channel`; in backward, receives its diff.
class TransferSendLayer : public Layer {
 public:
  TransferSendLayer(const LayerConfig& config, TransferChannel* channel)
      : Layer(config), channel_(channel) {}
  // Whether the receiving side needs gradients; set by the builder before setup.
  void set_needs_grad(bool needs_grad) { needs_grad_ = needs_grad; }
  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif

 protected:
  void forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;
#ifdef BANYAN_WITH_CUDA
  void forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;
#endif

 private:
  TransferChannel* channel_;
  bool needs_grad_ = false;
};

// Receives top[0] (no bottoms) from `channel`; in backward, sends its diff.
class TransferRecvLayer : public Layer {
 public:
  TransferRecvLayer(const LayerConfig& config, TransferChannel* channel)
      : Layer(config), channel_(channel) {}
  // Waits for the sender's setup; Aborted when the group was aborted.
  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
  // Whether gradients flow back to the sender (known after setup).
  bool needs_grad() const { return needs_grad_; }
  // The sender's element type (known after setup).
  DType top_dtype(int i, const std::vector<Blob*>& bottom, DType precision) const override {
    return dtype_;
  }
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif

 protected:
  void forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;
#ifdef BANYAN_WITH_CUDA
  void forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;
#endif

 private:
  TransferChannel* channel_;
  bool needs_grad_ = false;
  DType dtype_ = DType::kFloat32;
};

}  // namespace banyan
