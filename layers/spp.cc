// SPP on Pooling layers: setup builds one Pooling per pyramid level from
// Caffe's kernel/pad formula; forward and backward run them on whichever
// device the layer is on and move their outputs into (and gradients out of)
// the top's columns, with the copies and the gradient sum here for the CPU
// and in spp.cu for the GPU.
#include "layers/spp.h"

#include <glog/logging.h>

#include <algorithm>
#include <string>

#include "engine/core/math.h"
#include "layers/registry.h"

namespace banyan {
namespace {

std::string pair(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

}  // namespace

Status SppLayer::level_config(int l, int64_t height, int64_t width, LayerConfig* out) const {
  const int64_t bins = int64_t{1} << l;
  const int64_t kernel_h = (height + bins - 1) / bins, kernel_w = (width + bins - 1) / bins;
  const int64_t pad_h = (kernel_h * bins - height + 1) / 2;
  const int64_t pad_w = (kernel_w * bins - width + 1) / 2;
  if (pad_h >= kernel_h || pad_w >= kernel_w) {
    return error("pyramid level " + std::to_string(l) + " pools the " + pair(height, width) +
                 " bottom into " + pair(bins, bins) + " bins with kernel " +
                 pair(kernel_h, kernel_w) + " and pad " + pair(pad_h, pad_w) +
                 ", but pooling needs the pad below the kernel; use a smaller pyramid_height "
                 "(got " +
                 std::to_string(config_.spp.pyramid_height) + ")");
  }
  *out = LayerConfig{};
  out->name = name() + "/level" + std::to_string(l);
  out->type = "Pooling";
  out->location = config_.location;
  PoolingConfig& p = out->pooling;
  p.pool = config_.spp.pool;
  p.kernel_h = p.stride_h = static_cast<int>(kernel_h);
  p.kernel_w = p.stride_w = static_cast<int>(kernel_w);
  p.pad_h = static_cast<int>(pad_h);
  p.pad_w = static_cast<int>(pad_w);
  p.round_mode = PoolingConfig::RoundMode::kCeil;
  return Status::success();
}

Status SppLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const int height = config_.spp.pyramid_height;
  if (height < 1 || height > 30) {
    return error("pyramid_height must be in [1, 30], got " + std::to_string(height));
  }
  const Shape& s = bottom[0]->shape();
  if (s.num_axes() != 4) {
    return error("bottom '" + bottom[0]->name() + "' must be 4-D (N, C, H, W), got shape " +
                 s.to_string());
  }
  if (s.dim(2) <= 0 || s.dim(3) <= 0) {
    return error("bottom '" + bottom[0]->name() + "' " + s.to_string() + " has no pixels");
  }
  levels_.clear();
  levels_.resize(height);
  num_ = s.dim(0);
  row_ = 0;
  pool_workspace_ = 0;
  for (int l = 0; l < height; ++l) {
    Level& v = levels_[l];
    LayerConfig pc;
    BANYAN_RETURN_IF_ERROR(level_config(l, s.dim(2), s.dim(3), &pc));
    v.pool = new_pooling_layer(pc);
    v.pool->set_device(device());
    v.pool->set_cpu_options(cpu_);
    if (height == 1) {
      BANYAN_RETURN_IF_ERROR(v.pool->setup(bottom, top));  // Caffe: the pooling's output
    } else {
      v.out = std::make_unique<Blob>(pc.name);
      BANYAN_RETURN_IF_ERROR(v.pool->setup(bottom, {v.out.get()}));
      BANYAN_RETURN_IF_ERROR(v.out->allocate(device()));
      v.offset = row_;
      row_ += v.out->count() / num_;
    }
    pool_workspace_ = std::max(pool_workspace_, v.pool->workspace_floats());
  }
  if (height > 1) top[0]->set_shape(Shape{s.dim(0), row_});
  bottom_count_ = s.count();
  partial_ = Blob(name() + "/partial");
  partial_.set_shape(s);
  return Status::success();
}

size_t SppLayer::workspace_floats() const {
  size_t pools = 0;
  for (const Level& v : levels_) pools = std::max(pools, v.pool->workspace_floats());
  return pools + (levels_.size() > 1 ? static_cast<size_t>(bottom_count_) : 0);
}

void SppLayer::run_forward(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                           WorkerContext& ctx) {
  if (levels_.size() == 1) return levels_[0].pool->forward(bottom, top, ctx);
  for (Level& v : levels_) {
    v.pool->forward(bottom, {v.out.get()}, ctx);
    copy_columns(v, true, top[0]->data(), ctx);
  }
}

void SppLayer::run_backward(const std::vector<Blob*>& top, const std::vector<Blob*>& bottom,
                            WorkerContext& ctx) {
  if (levels_.size() == 1) return levels_[0].pool->backward(top, {true}, bottom, ctx);
  CHECK_GE(ctx.workspace_floats(), workspace_floats()) << "layer " << name();
  // The first level writes dx, the others their gradient into the workspace
  // (after the poolings' own scratch), added to dx level by level.
  float* part = ctx.workspace() + pool_workspace_;
  for (size_t l = 0; l < levels_.size(); ++l) {
    Level& v = levels_[l];
    copy_columns(v, false, top[0]->diff(), ctx);
    partial_.bind(bottom[0]->data(), l == 0 ? bottom[0]->diff() : part, device());
    v.pool->backward({v.out.get()}, {true}, {&partial_}, ctx);
    if (l > 0) accumulate(part, bottom[0]->diff(), ctx);
  }
}

void SppLayer::copy_columns(const Level& v, bool to_top, float* top_values,
                            WorkerContext& ctx) const {
  const int64_t slab = v.out->count() / num_;
  float* values = to_top ? v.out->data() : v.out->diff();
#ifdef BANYAN_WITH_CUDA
  if (ctx.device().is_cuda())
    return copy_columns_gpu(slab, v.offset, to_top, values, top_values, ctx);
#endif
  (void)ctx;
  for (int64_t n = 0; n < num_; ++n) {
    float* t = top_values + n * row_ + v.offset;
    float* p = values + n * slab;
    if (to_top) {
      cpu_copy(slab, p, t);
    } else {
      cpu_copy(slab, t, p);
    }
  }
}

void SppLayer::accumulate(const float* part, float* dx, WorkerContext& ctx) const {
#ifdef BANYAN_WITH_CUDA
  if (ctx.device().is_cuda()) return accumulate_gpu(part, dx, ctx);
#endif
  (void)ctx;
  cpu_axpy(bottom_count_, 1.0f, part, dx);
}

void SppLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                           WorkerContext& ctx) {
  run_forward(bottom, top, ctx);
}

void SppLayer::backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                            const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (propagate_down[0]) run_backward(top, bottom, ctx);
}

std::unique_ptr<Layer> new_spp_layer(const LayerConfig& config) {
  return std::make_unique<SppLayer>(config);
}

}  // namespace banyan
