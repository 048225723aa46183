// Device dispatch and the shared checks of the layer contract.
#include "layers/layer.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "engine/core/bf16.h"
#ifdef BANYAN_WITH_CUDA
#include "cuda/elementwise.h"
#include "engine/core/gpu_resources.h"
#endif

namespace banyan {

void Layer::forward(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                    WorkerContext& ctx) {
  if (ctx.device().is_cpu()) use_cpu_threads(cpu_.threads);
  if (bf16_ != nullptr) {
    forward_bf16(bottom, top, ctx);
  } else if (ctx.device().is_cpu()) {
    forward_cpu(bottom, top, ctx);
  } else {
    forward_gpu(bottom, top, ctx);
  }
}

void Layer::backward(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                     const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  CHECK_EQ(propagate_down.size(), bottom.size()) << "layer " << name();
  if (ctx.device().is_cpu()) use_cpu_threads(cpu_.threads);
  if (bf16_ != nullptr) {
    backward_bf16(top, propagate_down, bottom, ctx);
  } else if (ctx.device().is_cpu()) {
    backward_cpu(top, propagate_down, bottom, ctx);
  } else {
    backward_gpu(top, propagate_down, bottom, ctx);
  }
}

DType Layer::top_dtype(int /*i*/, const std::vector<Blob*>& bottom, DType precision) const {
  return bottom.empty() ? precision : bottom[0]->dtype();
}

namespace {

constexpr size_t kArenaAlign = 256;
size_t aligned(size_t bytes) { return (bytes + kArenaAlign - 1) / kArenaAlign * kArenaAlign; }

// The conversions of the BF16 path on the worker's device: host loops on
// the CPU, kernels on the compute stream of a CUDA worker.
class ShadowOps {
 public:
  explicit ShadowOps(WorkerContext& ctx) : ctx_(ctx) {}
  void widen(const void* bf16, int64_t n, float* out) const {
#ifdef BANYAN_WITH_CUDA
    if (ctx_.device().is_cuda()) {
      return cuda::bf16_to_float(n, static_cast<const Bf16*>(bf16), out, ctx_.gpu().compute());
    }
#endif
    from_bf16(static_cast<const Bf16*>(bf16), n, out);
  }
  void narrow(const float* in, int64_t n, void* bf16) const {
#ifdef BANYAN_WITH_CUDA
    if (ctx_.device().is_cuda()) {
      return cuda::float_to_bf16(n, in, static_cast<Bf16*>(bf16), ctx_.gpu().compute());
    }
#endif
    to_bf16(in, n, static_cast<Bf16*>(bf16));
  }
  void zero(float* x, int64_t n) const {
#ifdef BANYAN_WITH_CUDA
    if (ctx_.device().is_cuda()) return cuda::fill(n, 0.0f, x, ctx_.gpu().compute());
#endif
    std::fill(x, x + n, 0.0f);
  }
  void accumulate(const float* increment, int64_t n, float* y) const {
#ifdef BANYAN_WITH_CUDA
    if (ctx_.device().is_cuda()) {
      return cuda::accumulate_rounded_bf16(n, increment, y, ctx_.gpu().compute());
    }
#endif
    accumulate_rounded_bf16(increment, n, y);
  }

 private:
  WorkerContext& ctx_;
};

}  // namespace

Status Layer::plan_bf16_shadows(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  bf16_.reset();
  auto sh = std::make_unique<Bf16Shadows>();
  // The shadow standing for `b` (one per distinct bfloat16 blob), or b itself.
  auto shadow_of = [&](Blob* b, bool is_top) -> Blob* {
    if (b->dtype() != DType::kBFloat16) return b;
    for (size_t k = 0; k < sh->originals.size(); ++k) {
      if (sh->originals[k] == b) {
        (is_top ? sh->is_top : sh->is_bottom)[k] = true;
        return sh->shadows[k].get();
      }
    }
    auto s = std::make_unique<Blob>(b->name() + "/f32");
    s->set_shape(b->shape());
    sh->originals.push_back(b);
    sh->shadows.push_back(std::move(s));
    sh->is_top.push_back(is_top);
    sh->is_bottom.push_back(!is_top);
    sh->shadow_offsets.push_back(sh->bytes);
    sh->bytes += 2 * aligned(static_cast<size_t>(b->count()) * sizeof(float));
    return sh->shadows.back().get();
  };
  for (Blob* b : bottom) sh->bottom.push_back(shadow_of(b, false));
  for (Blob* t : top) sh->top.push_back(shadow_of(t, true));
  if (sh->originals.empty()) return Status::success();
  for (const LayerParam& p : params_) {
    if (!p.learnable) {
      sh->param_offsets.push_back(SIZE_MAX);
      continue;
    }
    sh->param_offsets.push_back(sh->bytes);
    sh->bytes += aligned(static_cast<size_t>(p.blob->count()) * sizeof(float));
  }
  sh->param_diffs.assign(params_.size(), nullptr);
  sh->real_param_diffs.assign(params_.size(), nullptr);
  bf16_ = std::move(sh);
  return Status::success();
}

size_t Layer::bf16_shadow_bytes() const { return bf16_ == nullptr ? 0 : bf16_->bytes; }

void Layer::bind_bf16_shadows(void* arena) {
  if (bf16_ == nullptr) return;
  CHECK(arena != nullptr) << "layer " << name() << ": no arena for its BF16 shadows";
  Bf16Shadows& sh = *bf16_;
  char* base = static_cast<char*>(arena);
  for (size_t k = 0; k < sh.shadows.size(); ++k) {
    Blob& s = *sh.shadows[k];
    char* data = base + sh.shadow_offsets[k];
    s.bind(reinterpret_cast<float*>(data),
           reinterpret_cast<float*>(data + aligned(static_cast<size_t>(s.count()) * sizeof(float))),
           device_);
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    sh.param_diffs[i] = sh.param_offsets[i] == SIZE_MAX
                            ? nullptr
                            : reinterpret_cast<float*>(base + sh.param_offsets[i]);
  }
  sh.bound = true;
}

void Layer::forward_bf16(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                         WorkerContext& ctx) {
  Bf16Shadows& sh = *bf16_;
  CHECK(sh.bound) << "layer " << name() << ": BF16 shadows planned but not bound";
  CHECK(bottom.size() == sh.bottom.size() && top.size() == sh.top.size()) << "layer " << name();
  const ShadowOps ops(ctx);
  for (size_t k = 0; k < sh.originals.size(); ++k) {
    if (!sh.is_bottom[k]) continue;  // a pure output is written whole
    ops.widen(sh.originals[k]->raw_data(), sh.originals[k]->count(), sh.shadows[k]->data());
  }
  if (ctx.device().is_cpu()) {
    forward_cpu(sh.bottom, sh.top, ctx);
  } else {
    forward_gpu(sh.bottom, sh.top, ctx);
  }
  for (size_t k = 0; k < sh.originals.size(); ++k) {
    if (!sh.is_top[k]) continue;
    ops.narrow(sh.shadows[k]->data(), sh.originals[k]->count(), sh.originals[k]->raw_data());
  }
}

void Layer::backward_bf16(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                          const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  Bf16Shadows& sh = *bf16_;
  CHECK(sh.bound) << "layer " << name() << ": BF16 shadows planned but not bound";
  CHECK(bottom.size() == sh.bottom.size() && top.size() == sh.top.size()) << "layer " << name();
  const ShadowOps ops(ctx);
  for (size_t k = 0; k < sh.originals.size(); ++k) {
    Blob* o = sh.originals[k];
    ops.widen(o->raw_data(), o->count(), sh.shadows[k]->data());
    // Tops bring their gradient (an in-place blob's is the top's).
    if (sh.is_top[k] && o->raw_diff() != nullptr) {
      ops.widen(o->raw_diff(), o->count(), sh.shadows[k]->diff());
    }
  }
  // Parameter gradients: this pass's increment, rounded, then accumulated.
  for (size_t i = 0; i < params_.size(); ++i) {
    sh.real_param_diffs[i] = nullptr;
    Blob* p = params_[i].blob.get();
    if (sh.param_diffs[i] == nullptr || p->raw_diff() == nullptr) continue;
    sh.real_param_diffs[i] = p->diff();
    ops.zero(sh.param_diffs[i], p->count());
    p->bind(p->data(), sh.param_diffs[i], p->device());
  }
  if (ctx.device().is_cpu()) {
    backward_cpu(sh.top, propagate_down, sh.bottom, ctx);
  } else {
    backward_gpu(sh.top, propagate_down, sh.bottom, ctx);
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    float* real = sh.real_param_diffs[i];
    if (real == nullptr) continue;
    Blob* p = params_[i].blob.get();
    ops.accumulate(sh.param_diffs[i], p->count(), real);
    p->bind(p->data(), real, p->device());
  }
  for (size_t b = 0; b < bottom.size(); ++b) {
    if (!propagate_down[b] || bottom[b]->dtype() != DType::kBFloat16) continue;
    if (bottom[b]->raw_diff() == nullptr) continue;
    ops.narrow(sh.bottom[b]->diff(), bottom[b]->count(), bottom[b]->raw_diff());
  }
}

void Layer::forward_gpu(const std::vector<Blob*>&, const std::vector<Blob*>&, WorkerContext& ctx) {
  LOG(FATAL) << "layer '" << name() << "' (" << type() << ") has no GPU forward; worker device "
             << ctx.device().to_string();
}

void Layer::backward_gpu(const std::vector<Blob*>&, const std::vector<bool>&,
                         const std::vector<Blob*>&, WorkerContext& ctx) {
  LOG(FATAL) << "layer '" << name() << "' (" << type() << ") has no GPU backward; worker device "
             << ctx.device().to_string();
}

Blob* Layer::declare_param(Shape shape, const FillerConfig& filler, bool learnable) {
  size_t index = params_.size();
  LayerParam p;
  p.blob = std::make_unique<Blob>(name() + "/" + std::to_string(index));
  p.blob->set_shape(std::move(shape));
  p.filler = filler;
  p.learnable = learnable;
  if (!learnable) {
    p.lr_mult = 0.0f;
    p.decay_mult = 0.0f;
  } else if (index < config_.param.size()) {
    p.lr_mult = config_.param[index].lr_mult;
    p.decay_mult = config_.param[index].decay_mult;
  }
  params_.push_back(std::move(p));
  return params_.back().blob.get();
}

Status Layer::check_counts(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                           int min_bottom, int max_bottom, int min_top, int max_top) const {
  auto describe = [](int lo, int hi) {
    if (hi < 0) return "at least " + std::to_string(lo);
    if (lo == hi) return "exactly " + std::to_string(lo);
    return std::to_string(lo) + " to " + std::to_string(hi);
  };
  int nb = static_cast<int>(bottom.size()), nt = static_cast<int>(top.size());
  if (nb < min_bottom || (max_bottom >= 0 && nb > max_bottom)) {
    return error("takes " + describe(min_bottom, max_bottom) + " bottom blob(s), got " +
                 std::to_string(nb));
  }
  if (nt < min_top || (max_top >= 0 && nt > max_top)) {
    return error("produces " + describe(min_top, max_top) + " top blob(s), got " +
                 std::to_string(nt));
  }
  return Status::success();
}

Status Layer::error(const std::string& message) const {
  std::string where = config_.location.line > 0 ? " at " + config_.location.to_string() : "";
  return Status::invalid_argument("layer '" + name() + "' (" + type() + ")" + where + ": " +
                                  message);
}

std::string format_value(float v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", v);
  return text;
}

bool is_class_id(float v, int64_t classes) {
  return v >= 0.0f && v < static_cast<float>(classes) && v == std::floor(v);
}

Status label_error(const Layer& layer, float v, int64_t sample, int64_t classes) {
  return Status::invalid_argument("layer '" + layer.name() + "' (" + layer.type() + "): label " +
                                  format_value(v) + " of sample " + std::to_string(sample) +
                                  " is not a class id in [0, " + std::to_string(classes) + ")");
}

}  // namespace banyan
