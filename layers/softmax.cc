// CPU softmax over an axis: forward with max subtraction, backward through
// the Jacobian-vector product.
#include "layers/softmax.h"

#include <climits>
#include <cmath>

#include "layers/registry.h"

namespace banyan {

void softmax_cpu(const float* x, int64_t outer, int64_t channels, int64_t inner, float* y) {
  for (int64_t o = 0; o < outer; ++o) {
    const float* xo = x + o * channels * inner;
    float* yo = y + o * channels * inner;
    for (int64_t i = 0; i < inner; ++i) {
      float m = xo[i];
      for (int64_t c = 1; c < channels; ++c) m = std::fmax(m, xo[c * inner + i]);
      float sum = 0.0f;
      for (int64_t c = 0; c < channels; ++c) {
        yo[c * inner + i] = std::exp(xo[c * inner + i] - m);
        sum += yo[c * inner + i];
      }
      const float inv = 1.0f / sum;
      for (int64_t c = 0; c < channels; ++c) yo[c * inner + i] *= inv;
    }
  }
}

Status SoftmaxLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const Shape& s = bottom[0]->shape();
  const int axis = config_.softmax.axis;
  if (!s.valid_axis(axis)) {
    return error("axis " + std::to_string(axis) + " is out of range for bottom '" +
                 bottom[0]->name() + "' of shape " + s.to_string());
  }
  const int a = s.canonical_axis(axis);
  if (s.dim(a) == 0) {
    return error("bottom '" + bottom[0]->name() + "' of shape " + s.to_string() +
                 " has no elements along axis " + std::to_string(axis));
  }
  if (device().is_cuda() && s.count() >= INT_MAX) {
    return error("bottom '" + bottom[0]->name() + "' of shape " + s.to_string() +
                 " has 2^31 or more elements, more than cuDNN's softmax takes");
  }
  outer_ = s.count(0, a);
  channels_ = s.dim(a);
  inner_ = s.count(a + 1);
  top[0]->set_shape(s);
  return Status::success();
}

void SoftmaxLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                               WorkerContext& /*ctx*/) {
  softmax_cpu(bottom[0]->data(), outer_, channels_, inner_, top[0]->data());
}

void SoftmaxLayer::backward_cpu(const std::vector<Blob*>& top,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const float* y = top[0]->data();
  const float* dy = top[0]->diff();
  float* dx = bottom[0]->diff();
  for (int64_t o = 0; o < outer_; ++o) {
    const int64_t base = o * channels_ * inner_;
    for (int64_t i = 0; i < inner_; ++i) {
      float dot = 0.0f;
      for (int64_t c = 0; c < channels_; ++c) {
        const int64_t k = base + c * inner_ + i;
        dot += dy[k] * y[k];
      }
      for (int64_t c = 0; c < channels_; ++c) {
        const int64_t k = base + c * inner_ + i;
        dx[k] = y[k] * (dy[k] - dot);
      }
    }
  }
}

std::unique_ptr<Layer> new_softmax_layer(const LayerConfig& config) {
  return std::make_unique<SoftmaxLayer>(config);
}

}  // namespace banyan
