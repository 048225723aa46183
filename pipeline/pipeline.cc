// Pipeline: setup, the restart rule, the reader and decoder loops.
#include "pipeline/pipeline.h"

#include <glog/logging.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>

#include "data/image_list.h"

namespace banyan {
namespace {

// Stage threads leave asynchronous signals (SIGINT, SIGTERM, ...) to the
// application's threads, so a handler that sets a stop flag runs where the
// application expects it.  Fault signals (SIGSEGV, ...) stay unblocked.
void block_async_signals_in_this_thread() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD, SIGPIPE}) {
    sigaddset(&set, sig);
  }
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void sleep_s(double seconds) {
  if (seconds > 0.0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

// Prefetched batches plus those the consumer may hold.
size_t ring_size(const PipelineOptions& o) {
  return static_cast<size_t>(std::max(o.prefetch, 1) + std::max(o.max_held, 1));
}

}  // namespace

Pipeline::Pipeline(const PipelineOptions& options)
    : options_(options),
      free_(ring_size(options)),
      full_(ring_size(options)),
      work_(ring_size(options) * 2 * std::max<size_t>(1, options.batch_size)) {}

Pipeline::~Pipeline() { stop(); }

Status Pipeline::open(const PipelineOptions& options, std::unique_ptr<Pipeline>* out) {
  if (options.batch_size <= 0) {
    return Status::invalid_argument("batch_size must be positive, got " +
                                    std::to_string(options.batch_size));
  }
  if (options.prefetch < 1) {
    return Status::invalid_argument("prefetch must be >= 1, got " +
                                    std::to_string(options.prefetch));
  }
  if (options.max_held < 1) {
    return Status::invalid_argument("max_held must be >= 1, got " +
                                    std::to_string(options.max_held));
  }
  if (options.decode_threads < 0) {
    return Status::invalid_argument("decode_threads must be >= 0 (0: one per core), got " +
                                    std::to_string(options.decode_threads));
  }
  std::unique_ptr<Pipeline> p(new Pipeline(options));
  BANYAN_RETURN_IF_ERROR(p->init());
  *out = std::move(p);
  return Status::success();
}

Status Pipeline::init() {
  if (options_.image_list) {
    BANYAN_RETURN_IF_ERROR(open_image_list_source(options_.source, options_.image_root, &source_));
    BANYAN_RETURN_IF_ERROR(init_image_format());
  } else {
    BANYAN_RETURN_IF_ERROR(open_lmdb_source(options_.source, &source_));
    BANYAN_RETURN_IF_ERROR(init_datum_format());
  }
  BANYAN_RETURN_IF_ERROR(
      transformer_.init(options_.transform, format_.channels, format_.height, format_.width)
          .with_context("transform_param"));
  num_threads_ = options_.decode_threads > 0
                     ? options_.decode_threads
                     : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int batch = options_.batch_size;
  const int ranges = std::min(batch, 2 * num_threads_);
  range_size_ = (batch + ranges - 1) / ranges;
  const size_t count = transformer_.out_count();
  for (size_t i = 0; i < ring_size(options_); ++i) {
    auto b = std::make_unique<Batch>();
    BANYAN_RETURN_IF_ERROR(b->allocate(batch, count, format_.is_float, options_.pinned));
    free_.push(b.get());
    ring_.push_back(std::move(b));
  }
  open_time_s_ = pipeline_now_s();
  return Status::success();
}

Status Pipeline::init_datum_format() {
  const TransformConfig& tc = options_.transform;
  format_.color =
      tc.force_gray ? JpegColor::kGray : (tc.force_color ? JpegColor::kBgr : JpegColor::kNative);
  std::string value;
  BANYAN_RETURN_IF_ERROR(source_->get_at(0, &value));
  DatumRecord record;
  DatumDecoder decoder;
  ChwImage image;
  Status s = parse_datum(value, &record);
  if (s.ok()) s = decoder.decode(record, format_.color, &image);
  if (!s.ok()) return s.with_context(source_->record_name(0));
  format_.channels = image.channels;
  format_.height = image.height;
  format_.width = image.width;
  format_.is_float = image.is_float;
  return Status::success();
}

Status Pipeline::init_image_format() {
  const int nh = options_.new_height, nw = options_.new_width;
  if (nh < 0 || nw < 0 || (nh > 0) != (nw > 0)) {
    return Status::invalid_argument(
        "new_height and new_width must both be 0 (keep the size) or both > 0, got " +
        std::to_string(nh) + " and " + std::to_string(nw));
  }
  format_.color = options_.is_color ? JpegColor::kBgr : JpegColor::kGray;
  std::string bytes;
  JpegDecoder jpeg;
  HwcImage image;
  Status s = source_->get_at(0, &bytes);
  if (s.ok()) s = decode_image_file(bytes, format_.color, &jpeg, &image);
  if (!s.ok()) return s.with_context(source_->record_name(0));
  format_.channels = image.channels;
  format_.height = nh > 0 ? nh : image.height;
  format_.width = nw > 0 ? nw : image.width;
  format_.is_float = false;
  return Status::success();
}

std::string Pipeline::record_name(size_t position) const { return source_->record_name(position); }

bool Pipeline::same_run(const BatchRequest& r) const {
  return running_ && r.phase == run_.phase && r.seed == run_.seed &&
         r.num_groups == run_.num_groups && r.group_index == run_.group_index &&
         r.iteration == next_iteration_;
}

Status Pipeline::acquire(const BatchRequest& request, Batch** out) {
  CHECK_LT(held_, options_.max_held) << "Pipeline::acquire: max_held batches already out";
  CHECK(request.num_groups >= 1 && request.group_index >= 0 &&
        request.group_index < request.num_groups && request.iteration >= 0)
      << "bad batch request";
  if (!same_run(request)) {
    CHECK_EQ(held_, 0) << "Pipeline: release every batch before a restart";
    if (running_) VLOG(1) << "pipeline '" << source() << "': restart at " << request.iteration;
    stop();
    start(request);
  }
  const double t0 = pipeline_now_s();
  Batch* b = nullptr;
  CHECK(full_.pop(&b)) << "pipeline queue closed while running";
  {
    std::unique_lock<std::mutex> lock(done_mu_);
    done_cv_.wait(lock, [&] { return b->pending_ranges.load() == 0; });
  }
  consumer_.add_wait(pipeline_now_s() - t0);
  consumer_.add_items(1);
  CHECK_EQ(b->iteration, request.iteration) << "pipeline out of order";
  ++held_;
  next_iteration_ = request.iteration + 1;
  *out = b;
  return b->error;
}

void Pipeline::release(Batch* batch) {
  CHECK(batch != nullptr && held_ > 0) << "Pipeline::release of a batch not handed out";
  --held_;
  last_released_ = batch->iteration;
  free_.push(batch);
}

void Pipeline::start(const BatchRequest& request) {
  const bool shuffled = request.phase == Phase::kTrain && options_.shuffle;
  if (order_ == nullptr || order_shuffled_ != shuffled || order_seed_ != request.seed) {
    order_ = std::make_unique<SampleOrder>(source_->size(), shuffled, request.seed);
    order_shuffled_ = shuffled;
    order_seed_ = request.seed;
  }
  run_ = request;
  next_iteration_ = request.iteration;
  last_released_ = request.iteration - 1;
  running_ = true;
  reader_thread_ = std::thread([this] {
    block_async_signals_in_this_thread();
    reader_loop();
  });
  for (int t = 0; t < num_threads_; ++t) {
    decode_threads_.emplace_back([this] {
      block_async_signals_in_this_thread();
      decode_loop();
    });
  }
}

void Pipeline::stop() {
  if (!running_) return;
  free_.close();
  full_.close();
  work_.close();
  if (reader_thread_.joinable()) reader_thread_.join();
  for (std::thread& t : decode_threads_) t.join();
  decode_threads_.clear();
  free_.reset();
  full_.reset();
  work_.reset();
  held_ = 0;
  for (auto& b : ring_) {
    b->pending_ranges = 0;
    free_.push(b.get());
  }
  running_ = false;
}

void Pipeline::reader_loop() {
  int64_t it = run_.iteration;
  const int batch = options_.batch_size;
  for (;; ++it) {
    const double t0 = pipeline_now_s();
    Batch* b = nullptr;
    if (!free_.pop(&b)) return;
    const double t1 = pipeline_now_s();
    read_.add_wait(t1 - t0);
    const int64_t lead = it - (last_released_.load() + 1);
    int64_t seen = max_lead_.load();
    while (lead > seen && !max_lead_.compare_exchange_weak(seen, lead)) {
    }
    read_batch(b, it);
    sleep_s(options_.test_read_delay_s);
    read_.add_busy(pipeline_now_s() - t1);
    read_.add_items(batch);
    const int ranges = b->error.ok() ? (batch + range_size_ - 1) / range_size_ : 0;
    b->pending_ranges = ranges;
    if (!full_.push(b)) return;
    for (int begin = 0; begin < ranges * range_size_; begin += range_size_) {
      if (!work_.push(WorkItem{b, begin, std::min(begin + range_size_, batch)})) return;
    }
  }
}

void Pipeline::read_batch(Batch* b, int64_t iteration) {
  const int batch = options_.batch_size;
  b->iteration = iteration;
  b->first_sample = first_sample_of(run_.phase, run_.seed, iteration, run_.num_groups,
                                    run_.group_index, batch, options_.rand_skip);
  b->error = Status::success();
  b->error_sample = -1;
  b->replaced = 0;
  for (int n = 0; n < batch; ++n) b->positions[n] = order_->record_for(b->first_sample + n);
  if (source_->image_files()) return;  // the decoders read the files
  Status s = source_->get_batch(b->positions, &b->values);
  if (!s.ok()) b->error = s;
}

void Pipeline::decode_loop() {
  SampleDecoder decoder(format_);
  std::string scratch;
  WorkItem work;
  for (;;) {
    const double t0 = pipeline_now_s();
    if (!work_.pop(&work)) return;
    const double t1 = pipeline_now_s();
    decode_.add_wait(t1 - t0);
    decode_range(decoder, scratch, work);
    decode_.add_busy(pipeline_now_s() - t1);
    decode_.add_items(work.end - work.begin);
    if (work.batch->pending_ranges.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lock(done_mu_);
      done_cv_.notify_all();
    }
  }
}

void Pipeline::decode_range(SampleDecoder& decoder, std::string& scratch, const WorkItem& work) {
  const int resized_before = decoder.resized();
  for (int n = work.begin; n < work.end; ++n) {
    decode_sample(decoder, scratch, work.batch, n);
    sleep_s(options_.test_decode_delay_s);
  }
  resized_ += decoder.resized() - resized_before;
}

Status Pipeline::decode_record(SampleDecoder& decoder, size_t position, std::string* bytes) {
  if (!source_->image_files()) return decoder.decode(*bytes);
  BANYAN_RETURN_IF_ERROR(source_->get_at(position, bytes));
  return decoder.decode_file(*bytes, source_->label_at(position));
}

void Pipeline::decode_sample(SampleDecoder& decoder, std::string& scratch, Batch* b, int n) {
  const int64_t s = b->first_sample + n;
  const int64_t records = static_cast<int64_t>(source_->size());
  size_t position = b->positions[n];
  Status status = decode_record(decoder, position, &b->values[n]);
  for (int64_t k = 1; !status.ok(); ++k) {
    report_bad(position, status);
    if (options_.bad_record_fatal) {
      return set_error(b, n,
                       Status::data_loss(record_name(position) + ": " + status.message() +
                                         " (bad_record_fatal is set)"));
    }
    if (k == records) {
      return set_error(b, n, Status::data_loss(source_->describe() + ": every record is bad"));
    }
    position = order_->record_after(s, k);
    if (!source_->image_files()) {
      Status read = source_->get_at(position, &scratch);
      if (!read.ok()) return set_error(b, n, read);
    }
    status = decode_record(decoder, position, &scratch);
    ++b->replaced;
    ++replaced_;
  }
  const CropMirror cm = transformer_.draw(run_.phase, run_.seed, s / records, s);
  const size_t count = transformer_.out_count();
  if (format_.is_float) {
    transformer_.apply(decoder.image(), cm, b->floats() + n * count);
  } else {
    decoder.write_cropped(transformer_, cm, b->pixels() + n * count);
  }
  b->h_off()[n] = cm.h_off;
  b->w_off()[n] = cm.w_off;
  b->mirror()[n] = cm.mirror ? 1 : 0;
  b->labels()[n] = static_cast<float>(decoder.label());
}

void Pipeline::report_bad(size_t position, const Status& why) {
  std::lock_guard<std::mutex> lock(bad_mu_);
  if (!logged_bad_.insert(position).second) return;
  LOG(WARNING) << record_name(position) << " is bad: " << why.message()
               << (options_.bad_record_fatal ? "" : "; replaced by the next record in order");
}

void Pipeline::set_error(Batch* b, int n, const Status& error) {
  std::lock_guard<std::mutex> lock(bad_mu_);
  if (b->error.ok() || n < b->error_sample) {
    b->error = error;
    b->error_sample = n;
  }
}

PipelineStats Pipeline::stats() const {
  auto snap = [](const StageCounter& c) {
    return StageTimes{c.busy_s(), c.wait_s(), c.items(), c.bytes()};
  };
  PipelineStats s;
  s.wall_s = pipeline_now_s() - open_time_s_;
  s.decode_threads = num_threads_;
  s.read = snap(read_);
  s.decode = snap(decode_);
  s.consumer = snap(consumer_);
  s.upload = snap(upload_);
  s.replaced = replaced_.load();
  s.resized = resized_.load();
  return s;
}

void Pipeline::count_upload(int64_t bytes) {
  upload_.add_items(1);
  upload_.add_bytes(bytes);
}

int64_t Pipeline::max_lead() const { return max_lead_.load(); }

}  // namespace banyan
