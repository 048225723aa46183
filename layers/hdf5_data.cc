// HDF5Data layer: the file list, the sample -> (file, row) order, loading and
// the CPU gather of a batch's rows into the tops.
#include "layers/hdf5_data.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "engine/core/random.h"
#include "layers/registry.h"

namespace banyan {
namespace {

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + ")";
}

}  // namespace

Hdf5DataLayer::Hdf5DataLayer(const LayerConfig& config) : Layer(config) {}

Hdf5DataLayer::~Hdf5DataLayer() = default;

Status Hdf5DataLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 0, 0, 1, -1));
  const Hdf5DataConfig& c = config_.hdf5_data;
  if (c.batch_size <= 0) {
    return error("hdf5_data_param.batch_size must be positive, got " +
                 std::to_string(c.batch_size));
  }
  if (config_.top.size() != top.size()) {
    return error("needs a top name per top (the dataset each reads)");
  }
  std::ifstream in(c.source);
  if (!in) return error("hdf5_data_param.source '" + c.source + "' cannot be opened");
  files_.clear();
  for (std::string file; in >> file;) files_.push_back(file);
  if (files_.empty()) return error("hdf5_data_param.source '" + c.source + "' lists no file");
  names_ = config_.top;
  rows_.clear();
  total_rows_ = 0;
  std::vector<std::vector<int64_t>> row_dims(top.size());
  for (size_t f = 0; f < files_.size(); ++f) {
    std::vector<Hdf5Array> sets;
    Status s = read_hdf5_dims(files_[f], names_, &sets);
    if (!s.ok()) return Status(s.code(), error(s.message()).message());
    const int64_t n = sets[0].dims[0];
    for (size_t t = 0; t < top.size(); ++t) {
      const std::vector<int64_t>& d = sets[t].dims;
      if (d[0] != n) {
        return error("in '" + files_[f] + "', dataset '" + names_[t] + "' has " +
                     std::to_string(d[0]) + " rows but '" + names_[0] + "' has " +
                     std::to_string(n) + "; every dataset needs the same first dimension");
      }
      const std::vector<int64_t> inner(d.begin() + 1, d.end());
      if (f == 0) row_dims[t] = inner;
      if (inner != row_dims[t]) {
        return error("dataset '" + names_[t] + "' of '" + files_[f] + "' has rows of shape " +
                     dims_text(inner) + " but those of '" + files_[0] + "' are " +
                     dims_text(row_dims[t]));
      }
    }
    rows_.push_back(n);
    total_rows_ += n;
  }
  if (total_rows_ == 0) return error("the HDF5 files of '" + c.source + "' hold no rows");
  batch_size_ = c.batch_size;
  row_floats_.assign(top.size(), 1);
  for (size_t t = 0; t < top.size(); ++t) {
    Shape shape{batch_size_};
    for (int64_t d : row_dims[t]) {
      shape.push_back(d);
      row_floats_[t] *= d;
    }
    top[t]->set_shape(shape);
  }
  plan_valid_ = false;
  loaded_file_ = -1;
  rows_perm_file_ = -1;
  LOG(INFO) << "layer '" << name() << "': " << files_.size() << " HDF5 file(s), " << total_rows_
            << " rows, from '" << c.source << "'";
  return Status::success();
}

void Hdf5DataLayer::plan_epoch(bool shuffled, uint64_t seed, int64_t epoch) {
  if (plan_valid_ && plan_shuffled_ == shuffled && plan_seed_ == seed && plan_epoch_ == epoch) {
    return;
  }
  const size_t n = files_.size();
  if (shuffled && n > 1) {
    order_ = shuffle_permutation(n, seed, epoch);
  } else {
    order_.resize(n);
    for (size_t i = 0; i < n; ++i) order_[i] = static_cast<uint32_t>(i);
  }
  starts_.assign(1, 0);
  for (uint32_t f : order_) starts_.push_back(starts_.back() + rows_[f]);
  plan_valid_ = true;
  plan_shuffled_ = shuffled;
  plan_seed_ = seed;
  plan_epoch_ = epoch;
  rows_perm_file_ = -1;
}

Hdf5DataLayer::RowRef Hdf5DataLayer::locate(Phase phase, uint64_t seed, int64_t s) {
  CHECK(s >= 0 && total_rows_ > 0) << "layer '" << name() << "': sample " << s;
  const bool shuffled = phase == Phase::kTrain && config_.hdf5_data.shuffle;
  const int64_t epoch = s / total_rows_, p = s % total_rows_;
  plan_epoch(shuffled, seed, epoch);
  // The file whose range [starts_[k], starts_[k + 1]) holds p (empty files
  // have empty ranges and are never chosen).
  const size_t k = std::upper_bound(starts_.begin(), starts_.end(), p) - starts_.begin() - 1;
  RowRef r;
  r.file = static_cast<int>(order_[k]);
  r.row = p - starts_[k];
  if (shuffled && rows_[r.file] > 1) {
    if (rows_perm_file_ != r.file) {
      rows_perm_ = std::make_shared<const Permutation>(
          shuffle_permutation(rows_[r.file], mix_key(seed, r.file + 1), epoch));
      rows_perm_file_ = r.file;
    }
    r.row = (*rows_perm_)[r.row];
  }
  return r;
}

Status Hdf5DataLayer::load_file(int file) {
  loaded_file_ = -1;
  BANYAN_RETURN_IF_ERROR(read_hdf5_datasets(files_[file], names_, &loaded_));
  for (size_t t = 0; t < loaded_.size(); ++t) {
    const int64_t floats = static_cast<int64_t>(loaded_[t].values.size());
    if (loaded_[t].dims.empty() || loaded_[t].dims[0] != rows_[file] ||
        floats != rows_[file] * row_floats_[t]) {
      return Status::data_loss("dataset '" + names_[t] + "' of '" + files_[file] +
                               "' changed since setup: now " + dims_text(loaded_[t].dims));
    }
  }
  loaded_file_ = file;
  return Status::success();
}

bool Hdf5DataLayer::gather(WorkerContext& ctx, const std::vector<float*>& out) {
  const int64_t base = ctx.step().sample_base;
  for (int n = 0; n < batch_size_; ++n) {
    const RowRef r = locate(ctx.step().phase, ctx.seed(), base + n);
    if (r.file != loaded_file_) {
      Status s = load_file(r.file);
      if (!s.ok()) {
        ctx.report_error(Status(s.code(), error(s.message()).message()));
        return false;
      }
    }
    for (size_t t = 0; t < out.size(); ++t) {
      const int64_t w = row_floats_[t];
      std::memcpy(out[t] + n * w, loaded_[t].values.data() + r.row * w, sizeof(float) * w);
    }
  }
  return true;
}

void Hdf5DataLayer::forward_cpu(const std::vector<Blob*>& /*bottom*/, const std::vector<Blob*>& top,
                                WorkerContext& ctx) {
  std::vector<float*> out(top.size());
  for (size_t t = 0; t < top.size(); ++t) out[t] = top[t]->data();
  gather(ctx, out);
}

std::unique_ptr<Layer> new_hdf5_data_layer(const LayerConfig& config) {
  return std::make_unique<Hdf5DataLayer>(config);
}

}  // namespace banyan
