// Device dispatch and the shared checks of the layer contract.
#include "layers/layer.h"

#include <glog/logging.h>

namespace banyan {

void Layer::forward(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                    WorkerContext& ctx) {
  if (ctx.device().is_cpu()) {
    forward_cpu(bottom, top, ctx);
  } else {
    forward_gpu(bottom, top, ctx);
  }
}

void Layer::backward(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                     const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  CHECK_EQ(propagate_down.size(), bottom.size()) << "layer " << name();
  if (ctx.device().is_cpu()) {
    backward_cpu(top, propagate_down, bottom, ctx);
  } else {
    backward_gpu(top, propagate_down, bottom, ctx);
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
