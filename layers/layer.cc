// Device dispatch and the shared checks of the layer contract.
#include "layers/layer.h"

#include <glog/logging.h>

#include <algorithm>

#include "engine/core/bf16.h"

namespace banyan {

void Layer::forward(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                    WorkerContext& ctx) {
  if (!ctx.device().is_cpu()) {
    forward_gpu(bottom, top, ctx);
  } else if (bf16_ != nullptr) {
    forward_bf16(bottom, top, ctx);
  } else {
    forward_cpu(bottom, top, ctx);
  }
}

void Layer::backward(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                     const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  CHECK_EQ(propagate_down.size(), bottom.size()) << "layer " << name();
  if (!ctx.device().is_cpu()) {
    backward_gpu(top, propagate_down, bottom, ctx);
  } else if (bf16_ != nullptr) {
    backward_bf16(top, propagate_down, bottom, ctx);
  } else {
    backward_cpu(top, propagate_down, bottom, ctx);
  }
}

DType Layer::top_dtype(int /*i*/, const std::vector<Blob*>& bottom, DType precision) const {
  return bottom.empty() ? precision : bottom[0]->dtype();
}

Status Layer::plan_bf16_shadows(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  bf16_.reset();
  auto sh = std::make_unique<Bf16Shadows>();
  // The shadow standing for `b` (one per distinct bfloat16 blob), or b itself.
  auto shadow_of = [&](Blob* b, bool is_top) -> Blob* {
    if (b->dtype() != DType::kBFloat16) return b;
    for (size_t k = 0; k < sh->originals.size(); ++k) {
      if (sh->originals[k] == b) {
        if (is_top) sh->is_top[k] = true;
        return sh->shadows[k].get();
      }
    }
    auto s = std::make_unique<Blob>(b->name() + "/f32");
    s->set_shape(b->shape());
    sh->originals.push_back(b);
    sh->shadows.push_back(std::move(s));
    sh->is_top.push_back(is_top);
    return sh->shadows.back().get();
  };
  for (Blob* b : bottom) sh->bottom.push_back(shadow_of(b, false));
  for (Blob* t : top) sh->top.push_back(shadow_of(t, true));
  if (sh->originals.empty()) return Status::success();
  for (auto& s : sh->shadows) {
    BANYAN_RETURN_IF_ERROR(s->allocate(Device::cpu()).with_context("layer '" + name() + "'"));
  }
  for (const LayerParam& p : params_) {
    sh->param_diffs.emplace_back(p.learnable ? static_cast<size_t>(p.blob->count()) : 0);
  }
  sh->real_param_diffs.assign(params_.size(), nullptr);
  bf16_ = std::move(sh);
  return Status::success();
}

void Layer::forward_bf16(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                         WorkerContext& ctx) {
  Bf16Shadows& sh = *bf16_;
  CHECK(bottom.size() == sh.bottom.size() && top.size() == sh.top.size()) << "layer " << name();
  for (size_t k = 0; k < sh.originals.size(); ++k) {
    if (sh.is_top[k] && std::find(bottom.begin(), bottom.end(), sh.originals[k]) == bottom.end()) {
      continue;  // a pure output: written whole
    }
    from_bf16(static_cast<const Bf16*>(sh.originals[k]->raw_data()), sh.originals[k]->count(),
              sh.shadows[k]->data());
  }
  forward_cpu(sh.bottom, sh.top, ctx);
  for (size_t k = 0; k < sh.originals.size(); ++k) {
    if (!sh.is_top[k]) continue;
    to_bf16(sh.shadows[k]->data(), sh.originals[k]->count(),
            static_cast<Bf16*>(sh.originals[k]->raw_data()));
  }
}

void Layer::backward_bf16(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                          const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  Bf16Shadows& sh = *bf16_;
  CHECK(bottom.size() == sh.bottom.size() && top.size() == sh.top.size()) << "layer " << name();
  for (size_t k = 0; k < sh.originals.size(); ++k) {
    Blob* o = sh.originals[k];
    from_bf16(static_cast<const Bf16*>(o->raw_data()), o->count(), sh.shadows[k]->data());
    // Tops bring their gradient (an in-place blob's is the top's).
    if (sh.is_top[k] && o->raw_diff() != nullptr) {
      from_bf16(static_cast<const Bf16*>(o->raw_diff()), o->count(), sh.shadows[k]->diff());
    }
  }
  // Parameter gradients: this pass's increment, rounded, then accumulated.
  std::vector<float*>& real = sh.real_param_diffs;
  for (size_t i = 0; i < params_.size(); ++i) {
    std::vector<float>& scratch = sh.param_diffs[i];
    real[i] = nullptr;
    if (scratch.empty() || params_[i].blob->raw_diff() == nullptr) continue;
    real[i] = params_[i].blob->diff();
    std::fill(scratch.begin(), scratch.end(), 0.0f);
    params_[i].blob->bind(params_[i].blob->data(), scratch.data(), params_[i].blob->device());
  }
  backward_cpu(sh.top, propagate_down, sh.bottom, ctx);
  for (size_t i = 0; i < params_.size(); ++i) {
    if (real[i] == nullptr) continue;
    Blob* p = params_[i].blob.get();
    accumulate_rounded_bf16(sh.param_diffs[i].data(), p->count(), real[i]);
    p->bind(p->data(), real[i], p->device());
  }
  for (size_t b = 0; b < bottom.size(); ++b) {
    if (!propagate_down[b] || bottom[b]->dtype() != DType::kBFloat16) continue;
    if (bottom[b]->raw_diff() == nullptr) continue;
    to_bf16(sh.bottom[b]->diff(), bottom[b]->count(), static_cast<Bf16*>(bottom[b]->raw_diff()));
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

}  // namespace banyan
