// BucketedExchange: bucket cutting, the exchange thread, and the stream
// ordering on CUDA workers.
#include "engine/bucketed_exchange.h"

#include <glog/logging.h>

#include <algorithm>

#ifdef BANYAN_WITH_CUDA
#include "engine/core/gpu_resources.h"
#endif

namespace banyan {

std::vector<GradientBucket> cut_gradient_buckets(const Net& net, size_t bucket_bytes) {
  const std::vector<NetParam>& params = net.params();
  std::vector<GradientBucket> buckets;
  if (params.empty()) return buckets;
  // Parameters sit in layer order at increasing offsets; walk them from the
  // top, closing a bucket at a layer boundary once it is big enough.
  const int64_t min_floats =
      std::max<int64_t>(1, static_cast<int64_t>(bucket_bytes / sizeof(float)));
  int64_t end = net.param_count();
  GradientBucket open{0, end, 0};
  for (size_t i = params.size(); i-- > 0;) {
    const NetParam& p = params[i];
    int layer = 0;
    while (layer < net.num_layers() && net.layer(layer).name() != p.layer) ++layer;
    CHECK_LT(layer, net.num_layers()) << "parameter " << p.name << " has no layer";
    const bool boundary = i == 0 || params[i - 1].layer != p.layer;
    open.first_layer = layer;
    open.offset = p.offset;
    open.count = end - p.offset;
    if (boundary && (open.count >= min_floats || i == 0)) {
      buckets.push_back(open);
      end = p.offset;
    }
  }
  return buckets;
}

BucketedExchange::BucketedExchange(Net* net, AllReduce* exchange, int rank, size_t bucket_bytes,
                                   WorkerContext* ctx)
    : net_(net),
      exchange_(exchange),
      rank_(rank),
      ctx_(ctx),
      buckets_(cut_gradient_buckets(*net, bucket_bytes)) {
#ifdef BANYAN_WITH_CUDA
  if (ctx_->has_gpu()) {
    const int device = ctx_->gpu().ordinal();
    for (size_t b = 0; b < buckets_.size(); ++b) ready_.emplace_back(device);
    exchanged_ = cuda::Event(device);
  }
#endif
  thread_ = std::thread([this] { run(); });
}

BucketedExchange::~BucketedExchange() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void BucketedExchange::start() { next_ = 0; }

void BucketedExchange::layer_done(int layer) {
  while (next_ < buckets_.size() && buckets_[next_].first_layer >= layer) issue(next_++);
}

void BucketedExchange::issue(size_t bucket) {
#ifdef BANYAN_WITH_CUDA
  if (ctx_->has_gpu()) ready_[bucket].record(ctx_->gpu().compute());
#endif
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(bucket);
    ++pending_;
  }
  cv_.notify_all();
}

Status BucketedExchange::finish() {
  while (next_ < buckets_.size()) issue(next_++);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return pending_ == 0; });
  Status s = status_;
#ifdef BANYAN_WITH_CUDA
  if (s.ok() && ctx_->has_gpu() && !buckets_.empty()) {
    exchanged_.record(ctx_->gpu().exchange());
    exchanged_.wait_on(ctx_->gpu().compute());
  }
#endif
  return s;
}

void BucketedExchange::run() {
#ifdef BANYAN_WITH_CUDA
  // Before any CUDA call of this thread: otherwise the first one would
  // create (and use) a context on device 0, whatever the worker's device.
  Status device = ctx_->has_gpu() ? ctx_->gpu().make_current() : Status::success();
#else
  Status device;
#endif
  std::unique_lock<std::mutex> lock(mu_);
  if (!device.ok()) status_ = device.with_context("exchange thread");
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    const size_t b = queue_.front();
    queue_.pop_front();
    const bool failed = !status_.ok();
    lock.unlock();
    Status s;
    if (!failed) {  // after an error the rest is only counted down
      const GradientBucket& bucket = buckets_[b];
      void* stream = nullptr;
#ifdef BANYAN_WITH_CUDA
      if (ctx_->has_gpu()) {
        ready_[b].wait_on(ctx_->gpu().exchange());
        stream = ctx_->gpu().exchange();
      }
#endif
      s = exchange_->all_reduce(rank_, net_->param_diff() + bucket.offset,
                                static_cast<size_t>(bucket.count), stream);
    }
    lock.lock();
    if (!s.ok() && status_.ok()) status_ = s;
    --pending_;
    cv_.notify_all();
  }
}

}  // namespace banyan
