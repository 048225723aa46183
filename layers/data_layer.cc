// Data layer: setup checks and the synchronous CPU batch fill.
#include "layers/data_layer.h"

#include <glog/logging.h>

#include <numeric>

#include "engine/core/random.h"
#include "layers/registry.h"

namespace banyan {

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
  const std::string& src = dc.source;
  BANYAN_RETURN_IF_ERROR(LmdbReader::open(src, &reader_).with_context(where() + ": source"));
  if (reader_.size() == 0) return error("source LMDB '" + src + "' is empty");
  if (reader_.size() > UINT32_MAX) {
    return error("source LMDB '" + src + "' has more than 2^32 records");
  }
  const TransformConfig& tc = config_.transform;
  color_ =
      tc.force_gray ? JpegColor::kGray : (tc.force_color ? JpegColor::kBgr : JpegColor::kNative);
  positions_.assign(1, 0);
  BANYAN_RETURN_IF_ERROR(reader_.get_batch(positions_, &values_).with_context(where()));
  Status s = parse_datum(values_[0], &record_);
  if (s.ok()) s = decoder_.decode(record_, color_, &image_);
  if (!s.ok()) {
    return s.with_context(where() + ": LMDB '" + src + "' record '" +
                          std::string(reader_.key_at(0)) + "'");
  }
  channels_ = image_.channels;
  height_ = image_.height;
  width_ = image_.width;
  BANYAN_RETURN_IF_ERROR(transformer_.init(tc, channels_, height_, width_)
                             .with_context(where() + ": transform_param"));
  const int batch = dc.batch_size;
  top[0]->set_shape(Shape{batch, channels_, transformer_.out_height(), transformer_.out_width()});
  if (top.size() > 1) top[1]->set_shape(Shape{batch});
  perm_.resize(reader_.size());
  perm_epoch_ = -1;
  positions_.assign(batch, 0);
  values_.resize(batch);
  LOG(INFO) << where() << ": " << reader_.size() << " records of " << channels_ << " x " << height_
            << " x " << width_ << " in '" << src << "', output " << top[0]->shape().to_string();
  return Status::success();
}

void DataLayer::ensure_permutation(uint64_t seed, int64_t epoch) {
  if (epoch == perm_epoch_ && seed == perm_seed_) return;
  std::iota(perm_.begin(), perm_.end(), 0u);
  const uint64_t key = key_for(seed, "shuffle");
  for (size_t i = perm_.size() - 1; i > 0; --i) {
    size_t j = static_cast<size_t>(uniform_int_at(key, static_cast<uint64_t>(epoch), i, i + 1));
    std::swap(perm_[i], perm_[j]);
  }
  perm_epoch_ = epoch;
  perm_seed_ = seed;
}

size_t DataLayer::record_for(bool shuffled, uint64_t seed, int64_t s) {
  const int64_t n = static_cast<int64_t>(reader_.size());
  const int64_t epoch = s / n, position = s % n;
  if (!shuffled) return static_cast<size_t>(position);
  ensure_permutation(seed, epoch);
  return perm_[position];
}

int64_t DataLayer::first_sample(const WorkerContext& ctx, int batch) const {
  // TEST: the caller's sample_base, so that test batches sharded over the
  // groups read what one worker's batch of the same index reads.
  if (ctx.step().phase == Phase::kTest) return ctx.step().sample_base;
  const WorkerPlacement& p = ctx.placement();
  int64_t first = (ctx.step().iteration * p.num_groups + p.group_index) * batch;
  if (ctx.step().phase == Phase::kTrain && config_.data.rand_skip > 0) {
    first += static_cast<int64_t>(
        uniform_int_at(key_for(ctx.seed(), "rand_skip"), 0, 0, config_.data.rand_skip + 1));
  }
  return first;
}

void DataLayer::decode_record(size_t n) {
  Status s = parse_datum(values_[n], &record_);
  if (s.ok()) s = decoder_.decode(record_, color_, &image_);
  if (s.ok() &&
      (image_.channels != channels_ || image_.height != height_ || image_.width != width_)) {
    s = Status::data_loss(
        "decoded to " + std::to_string(image_.channels) + " x " + std::to_string(image_.height) +
        " x " + std::to_string(image_.width) + ", expected " + std::to_string(channels_) + " x " +
        std::to_string(height_) + " x " + std::to_string(width_) + " like the first record");
  }
  CHECK(s.ok()) << where() << ": LMDB '" << reader_.path() << "' record '"
                << reader_.key_at(positions_[n]) << "': " << s.message();
}

void DataLayer::forward_cpu(const std::vector<Blob*>& /*bottom*/, const std::vector<Blob*>& top,
                            WorkerContext& ctx) {
  const int batch = static_cast<int>(top[0]->dim(0));
  const Phase phase = ctx.step().phase;
  const bool shuffled = phase == Phase::kTrain && config_.data.shuffle;
  const int64_t first = first_sample(ctx, batch);
  const int64_t n_records = static_cast<int64_t>(reader_.size());
  for (int n = 0; n < batch; ++n) positions_[n] = record_for(shuffled, ctx.seed(), first + n);
  Status s = reader_.get_batch(positions_, &values_);
  CHECK(s.ok()) << where() << ": " << s.message();
  const size_t sample_floats = transformer_.out_count();
  float* data = top[0]->data();
  float* label = top.size() > 1 ? top[1]->data() : nullptr;
  for (int n = 0; n < batch; ++n) {
    decode_record(n);
    const int64_t index = first + n;
    CropMirror cm = transformer_.draw(phase, ctx.seed(), index / n_records, index);
    transformer_.apply(image_, cm, data + n * sample_floats);
    if (label != nullptr) label[n] = static_cast<float>(record_.label);
  }
}

std::unique_ptr<Layer> new_data_layer(const LayerConfig& config) {
  return std::make_unique<DataLayer>(config);
}

}  // namespace banyan
