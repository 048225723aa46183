// CPU top-k accuracy with ignore_label and per-class accuracy; ties are
// resolved in the label's favour by counting strictly greater scores.
#include "layers/accuracy.h"

#include <glog/logging.h>

#include <cmath>
#include <cstring>

#include "layers/registry.h"

namespace banyan {

Status AccuracyLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 2, 2, 1, 2));
  const Shape& s = bottom[0]->shape();
  const int axis = config_.accuracy.axis;
  if (!s.valid_axis(axis)) {
    return error("axis " + std::to_string(axis) + " is out of range for scores '" +
                 bottom[0]->name() + "' of shape " + s.to_string());
  }
  const int a = s.canonical_axis(axis);
  outer_ = s.count(0, a);
  channels_ = s.dim(a);
  inner_ = s.count(a + 1);
  const int k = config_.accuracy.top_k;
  if (k < 1 || k > channels_) {
    return error("top_k " + std::to_string(k) + " must lie in [1, " + std::to_string(channels_) +
                 "] (the number of classes along axis " + std::to_string(axis) + " of scores " +
                 s.to_string() + ")");
  }
  if (bottom[1]->count() != outer_ * inner_) {
    return error("labels '" + bottom[1]->name() + "' of shape " + bottom[1]->shape().to_string() +
                 " hold " + std::to_string(bottom[1]->count()) + " values; expected " +
                 std::to_string(outer_ * inner_) + ", one per position of scores " + s.to_string() +
                 " outside axis " + std::to_string(a));
  }
  top[0]->set_shape(Shape{});
  if (top.size() > 1) top[1]->set_shape(Shape{channels_});
  return Buffer::allocate(device(), (2 * static_cast<size_t>(channels_) + 3) * sizeof(int64_t),
                          &class_counts_)
      .with_context("layer '" + name() + "' (Accuracy) counters");
}

void AccuracyLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                WorkerContext& ctx) {
  const float* scores = bottom[0]->data();
  const float* labels = bottom[1]->data();
  const auto& ignore = config_.accuracy.ignore_label;
  const int64_t k = config_.accuracy.top_k;
  int64_t* occurrences = static_cast<int64_t*>(class_counts_.data());
  int64_t* correct_per_class = occurrences + channels_;
  std::memset(occurrences, 0, 2 * static_cast<size_t>(channels_) * sizeof(int64_t));
  int64_t valid = 0, correct = 0;
  for (int64_t o = 0; o < outer_; ++o) {
    const float* so = scores + o * channels_ * inner_;
    for (int64_t i = 0; i < inner_; ++i) {
      const float v = labels[o * inner_ + i];
      if (ignore.has_value() && v == static_cast<float>(*ignore)) continue;
      if (!is_class_id(v, channels_)) return ctx.report_error(label_error(*this, v, o, channels_));
      const int64_t label = static_cast<int64_t>(v);
      const float target = so[label * inner_ + i];
      int64_t greater = 0;
      for (int64_t c = 0; c < channels_; ++c) greater += so[c * inner_ + i] > target ? 1 : 0;
      const bool hit = greater < k;
      ++valid;
      ++occurrences[label];
      if (hit) {
        ++correct;
        ++correct_per_class[label];
      }
    }
  }
  top[0]->data()[0] = valid == 0 ? 0.0f : static_cast<float>(static_cast<double>(correct) / valid);
  if (top.size() > 1) {
    float* per_class = top[1]->data();
    for (int64_t c = 0; c < channels_; ++c) {
      per_class[c] =
          occurrences[c] == 0
              ? 0.0f
              : static_cast<float>(static_cast<double>(correct_per_class[c]) / occurrences[c]);
    }
  }
}

std::unique_ptr<Layer> new_accuracy_layer(const LayerConfig& config) {
  return std::make_unique<AccuracyLayer>(config);
}

}  // namespace banyan
