// BucketedExchange: overlaps the gradient all-reduce with backward (DESIGN
// §5).  The parameter buffer is cut, at layer boundaries, into buckets of
// about `bucket_bytes`, in backward order (the top layers' gradients are final
// first: AlexNet's FC layers hold most of its parameters).  As soon as
// backward has passed the lowest layer of a bucket, the bucket is handed to
// the worker's exchange thread, which all-reduces it; on a CUDA worker the
// exchange stream first waits for an event recorded on the compute stream, and
// finish() makes the compute stream wait for the exchange stream, so the host
// never waits for the device.  Every rank cuts the same buckets (same net, same
// partition) and issues them in the same order, and the all-reduce sums each
// element in a fixed order, so the result is bitwise the one of a single
// all-reduce over the whole buffer.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/core/context.h"
#include "engine/core/status.h"
#include "engine/exchange/all_reduce.h"
#include "engine/net.h"

#ifdef BANYAN_WITH_CUDA
#include "cuda/stream.h"
#endif

namespace banyan {

// A contiguous range of the parameter buffer, exchanged once backward has
// run layer `first_layer` (the lowest layer whose parameters it holds).
struct GradientBucket {
  int first_layer = 0;
  int64_t offset = 0;  // floats into param_diff()
  int64_t count = 0;
};

// Cuts `net`'s parameter buffer into buckets of at least `bucket_bytes`
// (a bucket ends at a layer boundary; the last may be smaller), listed in the
// order backward completes them (highest offsets first).  Padding between
// parameters goes with the parameter before it.  Empty when the net has no
// parameters.
std::vector<GradientBucket> cut_gradient_buckets(const Net& net, size_t bucket_bytes);

// Not thread-safe: start/layer_done/finish from the worker's thread.  The
// exchange thread lives as long as the object (destroy it before the net);
// on a CUDA worker it makes the worker's device current before anything else.
class BucketedExchange {
 public:
  // `exchange` (rank `rank`) and `net` must outlive the object; `ctx` is the
  // worker's (its exchange stream on CUDA workers).
  BucketedExchange(Net* net, AllReduce* exchange, int rank, size_t bucket_bytes,
                   WorkerContext* ctx);
  ~BucketedExchange();
  BucketedExchange(const BucketedExchange&) = delete;
  BucketedExchange& operator=(const BucketedExchange&) = delete;

  // Arms the exchange for one backward pass (the last of an iteration).
  void start();
  // Backward has just run layer `layer`: issues the buckets it completed.
  void layer_done(int layer);
  // Issues what is left, waits until every bucket was all-reduced (CPU) or
  // enqueued with the compute stream ordered after it (CUDA), and returns the
  // first error (Aborted when a peer failed).
  Status finish();

  const std::vector<GradientBucket>& buckets() const { return buckets_; }

 private:
  void issue(size_t bucket);
  void run();

  Net* net_;
  AllReduce* exchange_;
  int rank_;
  WorkerContext* ctx_;
  std::vector<GradientBucket> buckets_;
  size_t next_ = 0;  // the next bucket to issue in this pass

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<size_t> queue_;  // issued, not yet taken by the exchange thread
  size_t pending_ = 0;        // issued and not yet done
  bool stop_ = false;
  Status status_;
  std::thread thread_;
#ifdef BANYAN_WITH_CUDA
  std::vector<cuda::Event> ready_;  // per bucket: its gradients are final (compute)
  cuda::Event exchanged_;           // all buckets reduced (exchange stream)
#endif
};

}  // namespace banyan
