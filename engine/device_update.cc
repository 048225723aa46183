// DeviceUpdater over cuda/sgd_update.h; see device_update.h.
#include "engine/device_update.h"

#include <glog/logging.h>

#include <cmath>

#ifdef BANYAN_WITH_CUDA
#include "cuda/memory.h"
#include "cuda/reduce.h"
#include "cuda/sgd_update.h"
#include "cuda/stream.h"
#include "engine/core/gpu_resources.h"
#endif

namespace banyan {

#ifdef BANYAN_WITH_CUDA

struct DeviceUpdater::State {
  cuda::UpdateSpanTable table;
  int device = 0;
  // partials (kReducePartials doubles), sum of squares, norm, factor (a
  // float in a double's slot), then the partitions' sums of squares
  // (kReducePartials doubles, rank k at k, the rest zero) and their sum.
  Buffer scratch;
  double* partials() const { return static_cast<double*>(scratch.data()); }
  double* sum_squares() const { return partials() + cuda::kReducePartials; }
  double* norm() const { return sum_squares() + 1; }
  float* factor() const { return reinterpret_cast<float*>(norm() + 1); }
  double* group_squares() const { return norm() + 2; }
  double* group_sum() const { return group_squares() + cuda::kReducePartials; }
  static constexpr size_t kScratchDoubles = 2 * cuda::kReducePartials + 4;
  // Split replicas: sum_squares() is final (ready), and this partition has
  // copied every partition's sum of squares (read).
  cuda::Event ready, read;
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
    case SolverConfig::Type::kRmsProp:
      return cuda::SolverKind::kRmsProp;
    case SolverConfig::Type::kAdaDelta:
      return cuda::SolverKind::kAdaDelta;
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
  u->state_->device = ctx.gpu().ordinal();
  u->state_->ready = cuda::Event(u->state_->device);
  u->state_->read = cuda::Event(u->state_->device);
  const size_t bytes = State::kScratchDoubles * sizeof(double);  // zero-filled
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
  update(rule, grad_scale, data, diff, history0, history1);
}

void DeviceUpdater::begin_step(int iter_size, float* diff,
                               const std::vector<DeviceUpdater*>& group) {
  const cudaStream_t stream = ctx_->gpu().compute();
  State& st = *state_;
  if (iter_size > 1) cuda::scale_diffs(st.table, 1.0f / iter_size, diff, stream);
  // Every partition must have copied the previous sum of squares before it
  // is overwritten (their `read` of the previous iteration; a never
  // recorded event is complete).
  for (DeviceUpdater* peer : group) {
    if (peer != this) peer->state_->read.wait_on(stream);
  }
  cuda::diff_sum_squares(st.table, diff, st.partials(), st.sum_squares(), stream);
  st.ready.record(stream);
}

void DeviceUpdater::finish_step(const UpdateRule& rule, float clip,
                                const std::vector<DeviceUpdater*>& group, float* data, float* diff,
                                float* history0, float* history1) {
  CHECK_GT(clip, 0.0f) << "finish_step is the clipping path";
  CHECK_LE(group.size(), static_cast<size_t>(cuda::kReducePartials));
  const cudaStream_t stream = ctx_->gpu().compute();
  State& st = *state_;
  for (size_t k = 0; k < group.size(); ++k) {
    const State& peer = *group[k]->state_;
    if (group[k] != this) peer.ready.wait_on(stream);
    cuda::copy_peer_async(st.group_squares() + k, st.device, peer.sum_squares(), peer.device,
                          sizeof(double), stream);
  }
  st.read.record(stream);
  // The other slots stay zero: the fixed-order sum of the K partitions.
  cuda::sum_partials(st.group_squares(), st.group_sum(), stream);
  cuda::clip_factor(st.group_sum(), clip, st.factor(), st.norm(), stream);
  update(rule, st.factor(), data, diff, history0, history1);
}

void DeviceUpdater::update(const UpdateRule& rule, const float* grad_scale, float* data,
                           float* diff, float* history0, float* history1) {
  cuda::UpdateHyper h;
  h.type = kind_of(rule.type);
  h.lr = rule.lr;
  h.momentum = rule.momentum;
  h.momentum2 = rule.momentum2;
  h.delta = rule.delta;
  h.rms_decay = rule.rms_decay;
  h.weight_decay = rule.weight_decay;
  h.l1 = rule.l1;
  h.iteration = rule.iteration;
  cuda::apply_updates(h, state_->table, data, diff, history0, history1, grad_scale,
                      ctx_->gpu().compute());
}

#else

struct DeviceUpdater::State {};

Status DeviceUpdater::create(WorkerContext& ctx, const std::vector<UpdateSpan>&,
                             std::unique_ptr<DeviceUpdater>*) {
  return Status::unimplemented("solver on " + ctx.device().to_string() +
                               ": this build has no CUDA backend");
}

void DeviceUpdater::step(const UpdateRule&, int, float, float*, float*, float*, float*) {}
void DeviceUpdater::begin_step(int, float*, const std::vector<DeviceUpdater*>&) {}
void DeviceUpdater::finish_step(const UpdateRule&, float, const std::vector<DeviceUpdater*>&,
                                float*, float*, float*, float*) {}
void DeviceUpdater::update(const UpdateRule&, const float*, float*, float*, float*, float*) {}

#endif

DeviceUpdater::~DeviceUpdater() = default;

}  // namespace banyan
