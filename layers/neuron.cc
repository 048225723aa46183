// CPU elementwise layers: one loop per op over contiguous ranges, threaded
// with parallel_for; the functions come from neuron_math.h.
#include "layers/neuron.h"

#include <cmath>

#include "engine/core/parallel.h"
#include "layers/registry.h"

namespace banyan {
namespace {

template <NeuronOp kOp>
void forward_range(const float* x, float* y, int64_t begin, int64_t end, const NeuronArgs& a) {
  for (int64_t i = begin; i < end; ++i) y[i] = neuron_forward<kOp>(x[i], a);
}

template <NeuronOp kOp>
void backward_range(const float* x, const float* y, const float* dy, float* dx, int64_t begin,
                    int64_t end, const NeuronArgs& a) {
  for (int64_t i = begin; i < end; ++i) dx[i] = neuron_backward<kOp>(x[i], y[i], dy[i], a);
}

template <NeuronOp kOp>
void forward_all(int64_t n, const float* x, float* y, const NeuronArgs& a) {
  parallel_for(n, 1, 16,
               [=](int64_t begin, int64_t end) { forward_range<kOp>(x, y, begin, end, a); });
}

template <NeuronOp kOp>
void backward_all(int64_t n, const float* x, const float* y, const float* dy, float* dx,
                  const NeuronArgs& a) {
  parallel_for(n, 1, 16, [=](int64_t begin, int64_t end) {
    backward_range<kOp>(x, y, dy, dx, begin, end, a);
  });
}

}  // namespace

NeuronLayer::NeuronLayer(LayerConfig config, NeuronOp op) : Layer(std::move(config)), op_(op) {
  const NeuronConfig& c = config_.neuron;
  args_.alpha = c.alpha;
  args_.log_base = c.base == -1.0f ? 1.0f : std::log(c.base);
  args_.scale = c.scale;
  args_.shift = c.shift;
  args_.power = c.power;
  args_.threshold = c.threshold;
  args_.clip_min = c.clip_min;
  args_.clip_max = c.clip_max;
  args_.beta = c.beta;
}

bool NeuronLayer::allows_in_place() const {
  return op_ == NeuronOp::kSigmoid || op_ == NeuronOp::kTanH || op_ == NeuronOp::kThreshold;
}

Status NeuronLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  if (op_ == NeuronOp::kClip && !(args_.clip_min <= args_.clip_max)) {
    return error("needs clip_param { min: ... max: ... } with min <= max");
  }
  if (top[0] != bottom[0]) top[0]->set_shape(bottom[0]->shape());
  return Status::success();
}

void NeuronLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                              WorkerContext& /*ctx*/) {
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  const int64_t n = bottom[0]->count();
#define BANYAN_FORWARD(kOp) forward_all<kOp>(n, x, y, args_)
  BANYAN_NEURON_SWITCH(op_, BANYAN_FORWARD)
#undef BANYAN_FORWARD
}

void NeuronLayer::backward_cpu(const std::vector<Blob*>& top,
                               const std::vector<bool>& propagate_down,
                               const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const float* x = bottom[0]->data();  // in place: the output (ops that read only y)
  const float* y = top[0]->data();
  const float* dy = top[0]->diff();
  float* dx = bottom[0]->diff();
  const int64_t n = bottom[0]->count();
#define BANYAN_BACKWARD(kOp) backward_all<kOp>(n, x, y, dy, dx, args_)
  BANYAN_NEURON_SWITCH(op_, BANYAN_BACKWARD)
#undef BANYAN_BACKWARD
}

#define BANYAN_NEURON_FACTORY(name, op)                                  \
  std::unique_ptr<Layer> new_##name##_layer(const LayerConfig& config) { \
    return std::make_unique<NeuronLayer>(config, op);                    \
  }
BANYAN_NEURON_FACTORY(sigmoid, NeuronOp::kSigmoid)
BANYAN_NEURON_FACTORY(tanh, NeuronOp::kTanH)
BANYAN_NEURON_FACTORY(absval, NeuronOp::kAbsVal)
BANYAN_NEURON_FACTORY(bnll, NeuronOp::kBnll)
BANYAN_NEURON_FACTORY(elu, NeuronOp::kElu)
BANYAN_NEURON_FACTORY(exp, NeuronOp::kExp)
BANYAN_NEURON_FACTORY(log, NeuronOp::kLog)
BANYAN_NEURON_FACTORY(power, NeuronOp::kPower)
BANYAN_NEURON_FACTORY(threshold, NeuronOp::kThreshold)
BANYAN_NEURON_FACTORY(clip, NeuronOp::kClip)
BANYAN_NEURON_FACTORY(swish, NeuronOp::kSwish)
#undef BANYAN_NEURON_FACTORY

}  // namespace banyan
