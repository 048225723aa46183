// Transfer layers and their channels (CPU: memcpy under a mutex).  After an
// abort the layers return without copying; the worker loop notices the
// aborted hub and stops, so the garbage they leave is never used.
#include "layers/transfer.h"

#include <glog/logging.h>

#include <algorithm>

namespace banyan {

void TransferChannel::publish(const Shape& shape, DType dtype, bool needs_grad) {
  std::lock_guard<std::mutex> lock(mu_);
  shape_ = shape;
  dtype_ = dtype;
  needs_grad_ = needs_grad;
  published_ = true;
  cv_.notify_all();
}

bool TransferChannel::wait_published(Shape* shape, DType* dtype, bool* needs_grad) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return aborted_ || published_; });
  if (aborted_) return false;
  *shape = shape_;
  *dtype = dtype_;
  *needs_grad = needs_grad_;
  return true;
}

namespace {

// Host copies between a blob and a slot's values (CPU workers; allocated on
// first use, so CUDA channels hold no host copy).
void copy_in(const float* data, int64_t count, std::vector<float>* values) {
  values->assign(data, data + count);
}
void copy_out(const std::vector<float>& values, int64_t count, float* data) {
  CHECK_EQ(static_cast<size_t>(count), values.size());
  std::copy(values.begin(), values.end(), data);
}

}  // namespace

bool TransferChannel::put_forward(const float* data, int64_t count) {
  return put(&forward_, [&] { copy_in(data, count, &forward_.values); });
}
bool TransferChannel::take_forward(float* data, int64_t count) {
  return take(&forward_, [&] { copy_out(forward_.values, count, data); });
}
bool TransferChannel::put_backward(const float* diff, int64_t count) {
  return put(&backward_, [&] { copy_in(diff, count, &backward_.values); });
}
bool TransferChannel::take_backward(float* diff, int64_t count) {
  return take(&backward_, [&] { copy_out(backward_.values, count, diff); });
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
#ifdef BANYAN_WITH_CUDA
  if (device_.is_cuda()) {
    BANYAN_RETURN_IF_ERROR(channel_->prepare_gpu_sender(device_.id, bottom[0]->count())
                               .with_context("layer '" + name() + "'"));
  }
#endif
  channel_->publish(bottom[0]->shape(), bottom[0]->dtype(), needs_grad_);
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
  if (!channel_->wait_published(&shape, &dtype_, &needs_grad_)) {
    return Status::aborted("layer '" + name() + "': the worker group was aborted during setup");
  }
  top[0]->set_shape(shape);
#ifdef BANYAN_WITH_CUDA
  if (device_.is_cuda()) {
    BANYAN_RETURN_IF_ERROR(channel_->prepare_gpu_receiver(device_.id, shape.count())
                               .with_context("layer '" + name() + "'"));
  }
#endif
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
