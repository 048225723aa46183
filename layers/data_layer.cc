// Data layer: pipeline setup and the CPU conversion of a uint8 batch
// (DataTransformer::apply_cropped, bit-identical to DataTransformer::apply).
#include "layers/data_layer.h"

#include <glog/logging.h>

#include <cstring>

#include "layers/registry.h"

namespace banyan {

DataLayer::DataLayer(const LayerConfig& config) : Layer(config) {}

DataLayer::~DataLayer() = default;

std::string DataLayer::where() const {
  std::string where = config_.location.line > 0 ? " at " + config_.location.to_string() : "";
  return "layer '" + name() + "' (" + type() + ")" + where;
}

Status DataLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 0, 0, 1, 2));
  const DataConfig& dc = config_.data;
  if (dc.batch_size <= 0) {
    return error("data_param.batch_size must be positive, got " + std::to_string(dc.batch_size));
  }
  if (dc.rand_skip < 0) {
    return error("data_param.rand_skip must be >= 0, got " + std::to_string(dc.rand_skip));
  }
  if (dc.source.empty()) return error("data_param.source is empty; expected an LMDB directory");
  PipelineOptions o;
  o.source = dc.source;
  o.transform = config_.transform;
  o.batch_size = dc.batch_size;
  o.rand_skip = dc.rand_skip;
  o.shuffle = dc.shuffle;
  o.prefetch = dc.prefetch;
  o.decode_threads = dc.decode_threads;
  o.bad_record_fatal = dc.bad_record_fatal;
  return open_pipeline(o, top);
}

Status DataLayer::open_pipeline(PipelineOptions o, const std::vector<Blob*>& top) {
  o.pinned = device_.is_cuda();
  o.max_held = device_.is_cuda() ? kGpuHeldBatches : 1;
#ifdef BANYAN_WITH_CUDA
  gpu_.reset();  // returns batches still uploading to the old pipeline
#endif
  pipeline_.reset();
  BANYAN_RETURN_IF_ERROR(Pipeline::open(o, &pipeline_).with_context(where() + ": source"));
  const DataTransformer& t = pipeline_->transformer();
  batch_size_ = o.batch_size;
  top[0]->set_shape(Shape{batch_size_, t.channels(), t.out_height(), t.out_width()});
  if (top.size() > 1) top[1]->set_shape(Shape{batch_size_});
  last_stats_ = pipeline_->stats();
  LOG(INFO) << where() << ": " << pipeline_->num_records() << " records of " << t.channels()
            << " x " << t.height() << " x " << t.width() << " in '" << o.source << "', output "
            << top[0]->shape().to_string() << ", " << pipeline_->decode_threads()
            << " decode threads, prefetch " << o.prefetch;
  return Status::success();
}

BatchRequest DataLayer::request_for(const WorkerContext& ctx) const {
  BatchRequest r;
  r.phase = ctx.step().phase;
  r.seed = ctx.seed();
  r.iteration = ctx.step().iteration;
  r.num_groups = ctx.placement().num_groups;
  r.group_index = ctx.placement().group_index;
  if (r.phase == Phase::kTest) {
    // Test passes are sharded by batch: global test batch b (sample_base =
    // b * B) runs on group b mod G, so it is slice (b / G, b mod G) of the
    // pipeline's order, and this group's next batch is predicted right.
    const int64_t b = ctx.step().sample_base / batch_size_;
    r.iteration = b / r.num_groups;
    if (b % r.num_groups != r.group_index) {  // a caller that does not shard
      r.iteration = b;
      r.num_groups = 1;
      r.group_index = 0;
    }
  }
  return r;
}

Batch* DataLayer::acquire(const BatchRequest& request, WorkerContext& ctx) {
  Batch* batch = nullptr;
  Status s = pipeline_->acquire(request, &batch);
  if (s.ok()) return batch;
  pipeline_->release(batch);
  ctx.report_error(Status(s.code(), where() + ": " + s.message()));
  return nullptr;
}

std::string DataLayer::status_line() const {
  if (pipeline_ == nullptr) return "";
  PipelineStats now = pipeline_->stats();
  std::string line = summarize(now.since(last_stats_));
  last_stats_ = now;
  return line.empty() ? "" : name() + ": " + line;
}

void DataLayer::forward_cpu(const std::vector<Blob*>& /*bottom*/, const std::vector<Blob*>& top,
                            WorkerContext& ctx) {
  Batch* b = acquire(request_for(ctx), ctx);
  if (b == nullptr) return;  // reported on ctx
  const int batch = b->size();
  const size_t count = pipeline_->sample_count();
  float* data = top[0]->data();
  if (pipeline_->format().is_float) {
    std::memcpy(data, b->floats(), sizeof(float) * count * batch);
  } else {
    const DataTransformer& t = pipeline_->transformer();
    for (int n = 0; n < batch; ++n) {
      const CropMirror cm{b->h_off()[n], b->w_off()[n], b->mirror()[n] != 0};
      t.apply_cropped(b->pixels() + n * count, cm, data + n * count);
    }
  }
  if (top.size() > 1) std::memcpy(top[1]->data(), b->labels(), sizeof(float) * batch);
  pipeline_->release(b);
}

std::unique_ptr<Layer> new_data_layer(const LayerConfig& config) {
  return std::make_unique<DataLayer>(config);
}

}  // namespace banyan
