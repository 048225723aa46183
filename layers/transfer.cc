// Transfer layers and their channels (CPU: memcpy under a mutex).  After an
// abort the layers return without copying; the worker loop notices the
// aborted hub and stops, so the garbage they leave is never used.
#include "layers/transfer.h"

#include <glog/logging.h>

#include <algorithm>

namespace banyan {

void TransferChannel::publish(const Shape& shape, bool needs_grad) {
  std::lock_guard<std::mutex> lock(mu_);
  shape_ = shape;
  needs_grad_ = needs_grad;
  published_ = true;
  forward_.values.resize(static_cast<size_t>(shape.count()));
  backward_.values.resize(static_cast<size_t>(shape.count()));
  cv_.notify_all();
}

bool TransferChannel::wait_published(Shape* shape, bool* needs_grad) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return aborted_ || published_; });
  if (aborted_) return false;
  *shape = shape_;
  *needs_grad = needs_grad_;
  return true;
}

bool TransferChannel::put(Slot* slot, const float* data, int64_t count) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return aborted_ || !slot->full; });
  if (aborted_) return false;
  CHECK_EQ(static_cast<size_t>(count), slot->values.size());
  std::copy(data, data + count, slot->values.begin());
  slot->full = true;
  cv_.notify_all();
  return true;
}

bool TransferChannel::take(Slot* slot, float* data, int64_t count) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return aborted_ || slot->full; });
  if (aborted_) return false;
  CHECK_EQ(static_cast<size_t>(count), slot->values.size());
  std::copy(slot->values.begin(), slot->values.end(), data);
  slot->full = false;
  cv_.notify_all();
  return true;
}

bool TransferChannel::put_forward(const float* data, int64_t count) {
  return put(&forward_, data, count);
}
bool TransferChannel::take_forward(float* data, int64_t count) {
  return take(&forward_, data, count);
}
bool TransferChannel::put_backward(const float* diff, int64_t count) {
  return put(&backward_, diff, count);
}
bool TransferChannel::take_backward(float* diff, int64_t count) {
  return take(&backward_, diff, count);
}

void TransferChannel::abort() {
  std::lock_guard<std::mutex> lock(mu_);
  aborted_ = true;
  cv_.notify_all();
}

TransferChannel* TransferHub::channel(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& c = channels_[key];
  if (c == nullptr) {
    c = std::make_unique<TransferChannel>();
    if (aborted_) c->abort();
  }
  return c.get();
}

void TransferHub::abort(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!aborted_) reason_ = reason;
  aborted_ = true;
  for (auto& [key, c] : channels_) c->abort();
}

std::string TransferHub::reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reason_;
}

Status TransferSendLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 0, 0));
  channel_->publish(bottom[0]->shape(), needs_grad_);
  return Status::success();
}

void TransferSendLayer::forward_cpu(const std::vector<Blob*>& bottom,
                                    const std::vector<Blob*>& /*top*/, WorkerContext& /*ctx*/) {
  channel_->put_forward(bottom[0]->data(), bottom[0]->count());
}

void TransferSendLayer::backward_cpu(const std::vector<Blob*>& /*top*/,
                                     const std::vector<bool>& /*propagate_down*/,
                                     const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  // The receiver sends a gradient whenever needs_grad_ is set, so take it
  // even when this bottom's gradient is not wanted, to keep the pair in step.
  if (needs_grad_) channel_->take_backward(bottom[0]->diff(), bottom[0]->count());
}

Status TransferRecvLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 0, 0, 1, 1));
  Shape shape;
  if (!channel_->wait_published(&shape, &needs_grad_)) {
    return Status::cancelled("layer '" + name() + "': the worker group was aborted during setup");
  }
  top[0]->set_shape(shape);
  return Status::success();
}

void TransferRecvLayer::forward_cpu(const std::vector<Blob*>& /*bottom*/,
                                    const std::vector<Blob*>& top, WorkerContext& /*ctx*/) {
  channel_->take_forward(top[0]->data(), top[0]->count());
}

void TransferRecvLayer::backward_cpu(const std::vector<Blob*>& top,
                                     const std::vector<bool>& /*propagate_down*/,
                                     const std::vector<Blob*>& /*bottom*/, WorkerContext& /*ctx*/) {
  if (needs_grad_) channel_->put_backward(top[0]->diff(), top[0]->count());
}

}  // namespace banyan
