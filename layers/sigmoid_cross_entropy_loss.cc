// CPU SigmoidCrossEntropyLoss: the stable per-position term summed in
// double; backward from the sigmoid recomputed per position.
#include "layers/sigmoid_cross_entropy_loss.h"

#include <cmath>

#include "layers/loss_util.h"
#include "layers/registry.h"
#ifdef BANYAN_WITH_CUDA
#include "cuda/reduce.h"
#endif

namespace banyan {

Status SigmoidCrossEntropyLossLayer::setup(const std::vector<Blob*>& bottom,
                                           const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 2, 2, 1, 1));
  if (bottom[0]->count() != bottom[1]->count()) {
    return error("scores '" + bottom[0]->name() + "' " + bottom[0]->shape().to_string() +
                 " and targets '" + bottom[1]->name() + "' " + bottom[1]->shape().to_string() +
                 " must have the same number of elements");
  }
  mode_ = config_.loss.normalization_given ? config_.loss.normalization
                                           : LossConfig::Normalization::kBatchSize;
  num_ = bottom[0]->shape().num_axes() > 0 ? bottom[0]->shape().dim(0) : 1;
  top[0]->set_shape(Shape{});
#ifdef BANYAN_WITH_CUDA
  if (device().is_cuda()) {
    BANYAN_RETURN_IF_ERROR(
        Buffer::allocate(device(), 2 * static_cast<size_t>(bottom[0]->count()) * sizeof(float),
                         &terms_)
            .with_context("layer '" + name() + "' (SigmoidCrossEntropyLoss) terms"));
    return Buffer::allocate(device(), (cuda::kReducePartials + 3) * sizeof(double), &scratch_)
        .with_context("layer '" + name() + "' (SigmoidCrossEntropyLoss) reduction scratch");
  }
#endif
  return Status::success();
}

double SigmoidCrossEntropyLossLayer::normalizer(double valid, int64_t count) const {
  // Positions per sample: FULL divides by num_ times this, the element count.
  const int64_t per_sample = num_ > 0 ? count / num_ : 0;
  return loss_normalizer(mode_, num_, per_sample, static_cast<int64_t>(valid));
}

void SigmoidCrossEntropyLossLayer::forward_cpu(const std::vector<Blob*>& bottom,
                                               const std::vector<Blob*>& top,
                                               WorkerContext& /*ctx*/) {
  const int64_t n = bottom[0]->count();
  const float* x = bottom[0]->data();
  const float* t = bottom[1]->data();
  const auto& ignore = config_.loss.ignore_label;
  double loss = 0.0, valid = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    if (ignore.has_value() && t[i] == static_cast<float>(*ignore)) continue;
    loss += sigmoid_cross_entropy(x[i], t[i]);
    valid += 1.0;
  }
  cpu_normalizer_ = normalizer(valid, n);
  top[0]->data()[0] = static_cast<float>(loss / cpu_normalizer_);
}

void SigmoidCrossEntropyLossLayer::backward_cpu(const std::vector<Blob*>& top,
                                                const std::vector<bool>& propagate_down,
                                                const std::vector<Blob*>& bottom,
                                                WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const int64_t n = bottom[0]->count();
  const float* x = bottom[0]->data();
  const float* t = bottom[1]->data();
  float* dx = bottom[0]->diff();
  const auto& ignore = config_.loss.ignore_label;
  const float scale = static_cast<float>(top[0]->diff()[0] / cpu_normalizer_);
  for (int64_t i = 0; i < n; ++i) {
    const bool skip = ignore.has_value() && t[i] == static_cast<float>(*ignore);
    dx[i] = skip ? 0.0f : scale * (neuron_forward<NeuronOp::kSigmoid>(x[i], {}) - t[i]);
  }
}

std::unique_ptr<Layer> new_sigmoid_cross_entropy_loss_layer(const LayerConfig& config) {
  return std::make_unique<SigmoidCrossEntropyLossLayer>(config);
}

}  // namespace banyan
