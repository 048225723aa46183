// DeviceUpdater over cuda/sgd_update.h; see device_update.h.
#include "engine/device_update.h"

#include <cmath>

#ifdef BANYAN_WITH_CUDA
#include "cuda/reduce.h"
#include "cuda/sgd_update.h"
#include "engine/core/gpu_resources.h"
#endif

namespace banyan {

#ifdef BANYAN_WITH_CUDA

struct DeviceUpdater::State {
  cuda::UpdateSpanTable table;
  Buffer scratch;  // partials (kReducePartials doubles), sum of squares, norm, factor
  double* partials() const { return static_cast<double*>(scratch.data()); }
  double* sum_squares() const { return partials() + cuda::kReducePartials; }
  double* norm() const { return sum_squares() + 1; }
  float* factor() const { return reinterpret_cast<float*>(norm() + 1); }
};

namespace {

cuda::SolverKind kind_of(SolverConfig::Type t) {
  switch (t) {
    case SolverConfig::Type::kSgd:
      return cuda::SolverKind::kSgd;
    case SolverConfig::Type::kNesterov:
      return cuda::SolverKind::kNesterov;
    case SolverConfig::Type::kAdaGrad:
      return cuda::SolverKind::kAdaGrad;
    case SolverConfig::Type::kAdam:
      return cuda::SolverKind::kAdam;
  }
  return cuda::SolverKind::kSgd;
}

}  // namespace

Status DeviceUpdater::create(WorkerContext& ctx, const std::vector<UpdateSpan>& spans,
                             std::unique_ptr<DeviceUpdater>* out) {
  std::unique_ptr<DeviceUpdater> u(new DeviceUpdater());
  u->ctx_ = &ctx;
  u->state_ = std::make_unique<State>();
  std::vector<cuda::UpdateSpanDevice> device_spans;
  for (const UpdateSpan& s : spans) {
    cuda::UpdateSpanDevice d;
    d.offset = s.offset;
    d.count = s.count;
    d.lr_mult = s.lr_mult;
    d.decay_mult = s.decay_mult;
    device_spans.push_back(d);
  }
  std::string error;
  if (!u->state_->table.upload(ctx.gpu().ordinal(), std::move(device_spans), ctx.gpu().compute(),
                               &error)) {
    return Status::resource_exhausted("solver update table on " + ctx.device().to_string() + ": " +
                                      error);
  }
  const size_t bytes = (cuda::kReducePartials + 3) * sizeof(double);
  BANYAN_RETURN_IF_ERROR(
      Buffer::allocate(ctx.device(), bytes, &u->state_->scratch).with_context("solver scratch"));
  *out = std::move(u);
  return Status::success();
}

void DeviceUpdater::step(const UpdateRule& rule, int iter_size, float clip, float* data,
                         float* diff, float* history0, float* history1) {
  const cudaStream_t stream = ctx_->gpu().compute();
  State& st = *state_;
  if (iter_size > 1) cuda::scale_diffs(st.table, 1.0f / iter_size, diff, stream);
  const float* grad_scale = nullptr;
  if (clip > 0.0f) {
    cuda::diff_sum_squares(st.table, diff, st.partials(), st.sum_squares(), stream);
    cuda::clip_factor(st.sum_squares(), clip, st.factor(), st.norm(), stream);
    grad_scale = st.factor();
  }
  cuda::UpdateHyper h;
  h.type = kind_of(rule.type);
  h.lr = rule.lr;
  h.momentum = rule.momentum;
  h.momentum2 = rule.momentum2;
  h.delta = rule.delta;
  h.weight_decay = rule.weight_decay;
  h.l1 = rule.l1;
  h.iteration = rule.iteration;
  cuda::apply_updates(h, st.table, data, diff, history0, history1, grad_scale, stream);
}

#else

struct DeviceUpdater::State {};

Status DeviceUpdater::create(WorkerContext& ctx, const std::vector<UpdateSpan>&,
                             std::unique_ptr<DeviceUpdater>*) {
  return Status::unimplemented("solver on " + ctx.device().to_string() +
                               ": this build has no CUDA backend");
}

void DeviceUpdater::step(const UpdateRule&, int, float, float*, float*, float*, float*) {}

#endif

DeviceUpdater::~DeviceUpdater() = default;

}  // namespace banyan
