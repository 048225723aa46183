// The staged input pipeline (DESIGN §6): one reader thread (LMDB records of a
// batch in sample order), a pool of decode + augment threads (JPEG/raw decode,
// resize, crop, mirror into a uint8 batch buffer), a fixed ring of batch
// buffers recycled through free and full queues, and per-stage statistics.
// The records come from a RecordSource: an LMDB of Datums, or an image list
// whose files (JPEG, PNG) the decode threads read themselves.
//
// The consumer asks for the batch of (phase, seed, layout, iteration); the
// pipeline prefetches the following `prefetch` iterations.  A request for
// any other iteration than the predicted next one (a new test pass starting
// at 0, a resume, a jump) drains the stages and restarts them there.  Batch
// contents are a pure function of the request (layers/data_layer.h gives the
// sample -> record mapping), never of thread count or timing.
//
// Bad records (unparseable Datum, corrupt/non-JPEG data, wrong channel count,
// missing label; for image lists also a missing or unreadable file) are
// counted, logged once per key and replaced by the next record of the epoch's
// order (the k-th next if several are bad), unless bad_record_fatal, where the
// batch carries a DataLoss naming the source and the record.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "data/transform.h"
#include "engine/core/config.h"
#include "pipeline/batch.h"
#include "pipeline/queue.h"
#include "pipeline/record_source.h"
#include "pipeline/sample_decoder.h"
#include "pipeline/sample_order.h"
#include "pipeline/stats.h"

namespace banyan {

struct PipelineOptions {
  std::string source;  // LMDB directory, or the image list when image_list
  TransformConfig transform;
  int batch_size = 0;  // per worker group
  int rand_skip = 0;
  bool shuffle = true;
  int prefetch = 4;        // batches read ahead of the consumer (>= 1)
  int decode_threads = 0;  // 0: the hardware's core count
  bool bad_record_fatal = false;
  bool pinned = false;  // pinned batch buffers (CUDA builds), for async uploads
  // Batches the consumer may hold at once (a GPU consumer keeps a batch
  // until its upload finished); the ring has prefetch + max_held buffers.
  int max_held = 1;
  // Image-list input (the ImageData layer): images at image_root + path,
  // decoded to BGR (is_color) or gray and resized to new_height x new_width
  // when both are > 0, else to the first image's size.
  bool image_list = false;
  std::string image_root;
  bool is_color = true;
  int new_height = 0, new_width = 0;
  // Tests only: sleeps in the reader per batch and in a decoder per sample,
  // to make stage times visible.
  double test_read_delay_s = 0.0;
  double test_decode_delay_s = 0.0;
};

// Which batch the consumer wants.
struct BatchRequest {
  Phase phase = Phase::kTrain;
  uint64_t seed = 0;
  int64_t iteration = 0;
  int num_groups = 1;
  int group_index = 0;
};

// Thread safety: acquire/release/stats from one consumer thread (stats() and
// max_lead() from any thread).  Destruction stops and joins every stage,
// whatever the queues hold.  The stage threads block asynchronous
// signals, so SIGINT/SIGTERM handlers run on the application's threads.
class Pipeline {
 public:
  // Opens the source, decodes the first record for the dataset's shape,
  // checks the transform and allocates the ring.  No thread runs until
  // acquire.  Errors name the LMDB or list (and the first record when bad).
  static Status open(const PipelineOptions& options, std::unique_ptr<Pipeline>* out);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  const SampleFormat& format() const { return format_; }
  const DataTransformer& transformer() const { return transformer_; }
  size_t num_records() const { return source_->size(); }
  const std::string& source() const { return source_->path(); }
  int decode_threads() const { return num_threads_; }
  // Bytes of one batch's host layout (Batch::host), what a GPU consumer uploads.
  size_t batch_host_bytes() const { return ring_.front()->host.bytes(); }
  // Per-sample output elements: C x out_height x out_width.
  size_t sample_count() const { return transformer_.out_count(); }

  // Whether `request` continues the running sequence (else acquire restarts,
  // which requires every held batch to be released first).
  bool continues(const BatchRequest& request) const { return same_run(request); }
  // Blocks until the batch of `request` is ready and hands it out (*out stays
  // valid until release).  Restarts the stages when the request is not the
  // predicted next one.  Returns the batch's error (LMDB failure, bad record
  // in fatal mode); the batch must still be released.
  Status acquire(const BatchRequest& request, Batch** out);
  // Gives the batch back for reuse.
  void release(Batch* batch);

  // Cumulative counters since open.
  PipelineStats stats() const;
  // Counts a host-to-device upload of `bytes` (the GPU consumer).
  void count_upload(int64_t bytes);
  // Most batches the reader has been ahead of the consumer's next request.
  int64_t max_lead() const;

 private:
  struct WorkItem {
    Batch* batch = nullptr;
    int begin = 0, end = 0;
  };

  explicit Pipeline(const PipelineOptions& options);
  Status init();
  // The dataset's format from the first record (Datum or image file).
  Status init_datum_format();
  Status init_image_format();
  // Decodes record `position` from `bytes` (Datum sources) or from the file
  // it reads into `bytes` (image lists; a read failure is a bad record).
  Status decode_record(SampleDecoder& decoder, size_t position, std::string* bytes);
  bool same_run(const BatchRequest& request) const;
  void start(const BatchRequest& request);
  void stop();
  void reader_loop();
  void read_batch(Batch* batch, int64_t iteration);
  void decode_loop();
  void decode_range(SampleDecoder& decoder, std::string& scratch, const WorkItem& work);
  // Decodes sample n (replacing bad records) and writes it into its batch.
  void decode_sample(SampleDecoder& decoder, std::string& scratch, Batch* batch, int n);
  void report_bad(size_t position, const Status& why);
  void set_error(Batch* batch, int n, const Status& error);
  std::string record_name(size_t position) const;

  PipelineOptions options_;
  std::unique_ptr<RecordSource> source_;
  DataTransformer transformer_;
  SampleFormat format_;
  int num_threads_ = 1;
  int range_size_ = 1;
  double open_time_s_ = 0.0;

  std::vector<std::unique_ptr<Batch>> ring_;
  BoundedQueue<Batch*> free_, full_;
  BoundedQueue<WorkItem> work_;

  // The running configuration (fixed while the threads run).
  bool running_ = false;
  BatchRequest run_;
  std::unique_ptr<SampleOrder> order_;  // kept across restarts of the same seed
  bool order_shuffled_ = false;
  uint64_t order_seed_ = 0;
  int64_t next_iteration_ = 0;
  int held_ = 0;  // batches handed out and not yet released
  std::thread reader_thread_;
  std::vector<std::thread> decode_threads_;

  std::mutex done_mu_;
  std::condition_variable done_cv_;
  bool stopping_ = false;

  std::mutex bad_mu_;
  std::set<size_t> logged_bad_;

  std::atomic<int64_t> last_released_{-1}, max_lead_{0};
  std::atomic<int64_t> replaced_{0}, resized_{0};
  StageCounter read_, decode_, consumer_, upload_;
};

}  // namespace banyan
