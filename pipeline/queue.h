// A bounded blocking FIFO, the joint between pipeline stages (DESIGN §6).
// close() wakes every waiter so that stages can be torn down while blocked
// on a full or an empty queue; reset() reopens an emptied queue for a restart.
#pragma once

#include <glog/logging.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>

namespace banyan {

// Thread safety: push/pop/close/size may be called from any thread.  reset()
// only while no thread is blocked in push or pop (the pipeline calls it with
// its stage threads joined).
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) { CHECK_GT(capacity, 0u); }
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Blocks while the queue is full.  Returns false (and drops `item`) once
  // the queue is closed.
  bool push(T item) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  // Blocks while the queue is empty.  Returns false once the queue is closed
  // (items still queued are abandoned: closing means stopping).
  bool pop(T* item) {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (closed_) return false;
    *item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return true;
  }

  // Wakes all waiters; every later push/pop returns false.
  void close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  // Drops the items and reopens the queue (see the class comment).
  void reset() {
    std::lock_guard<std::mutex> lock(mu_);
    items_.clear();
    closed_ = false;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }
  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace banyan
