// CPU ContrastiveLoss: squared distances per pair (in double) kept for
// backward, Caffe's two margin forms, the loss summed in double.
#include "layers/contrastive_loss.h"

#include <algorithm>
#include <cmath>

#include "layers/registry.h"
#ifdef BANYAN_WITH_CUDA
#include "layers/loss_util.h"
#endif

namespace banyan {
namespace {

// Caffe's static_cast<int>(y) != 0.
bool is_similar(float y) { return std::trunc(y) != 0.0f; }

}  // namespace

Status ContrastiveLossLayer::setup(const std::vector<Blob*>& bottom,
                                   const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 3, 3, 1, 1));
  const Shape& s = bottom[0]->shape();
  bool pairs = s.num_axes() >= 1 && s == bottom[1]->shape();
  for (int a = 2; pairs && a < s.num_axes(); ++a) pairs = s.dim(a) == 1;
  if (!pairs) {
    return error("bottoms '" + bottom[0]->name() + "' " + s.to_string() + " and '" +
                 bottom[1]->name() + "' " + bottom[1]->shape().to_string() +
                 " must have the same shape N x C (or N x C x 1 x 1)");
  }
  num_ = s.dim(0);
  channels_ = s.count(1);
  if (bottom[2]->count() != num_) {
    return error("pair labels '" + bottom[2]->name() + "' of shape " +
                 bottom[2]->shape().to_string() + " hold " + std::to_string(bottom[2]->count()) +
                 " values; expected " + std::to_string(num_) + ", one per pair");
  }
  top[0]->set_shape(Shape{});
  BANYAN_RETURN_IF_ERROR(
      Buffer::allocate(device(), static_cast<size_t>(num_) * sizeof(float), &dist_sq_)
          .with_context("layer '" + name() + "' (ContrastiveLoss) distances"));
#ifdef BANYAN_WITH_CUDA
  if (device().is_cuda()) {
    BANYAN_RETURN_IF_ERROR(
        Buffer::allocate(device(), static_cast<size_t>(num_) * sizeof(float), &gpu_terms_)
            .with_context("layer '" + name() + "' (ContrastiveLoss) terms"));
    return Buffer::allocate(device(), gpu_loss_scratch_bytes(), &gpu_scratch_)
        .with_context("layer '" + name() + "' (ContrastiveLoss) loss scratch");
  }
#endif
  return Status::success();
}

void ContrastiveLossLayer::forward_cpu(const std::vector<Blob*>& bottom,
                                       const std::vector<Blob*>& top, WorkerContext& /*ctx*/) {
  const float* a = bottom[0]->data();
  const float* b = bottom[1]->data();
  const float* y = bottom[2]->data();
  float* dist_sq = static_cast<float*>(dist_sq_.data());
  const float margin = config_.contrastive_loss.margin;
  double loss = 0.0;
  for (int64_t n = 0; n < num_; ++n) {
    double sq = 0.0;
    for (int64_t c = 0; c < channels_; ++c) {
      const double d = static_cast<double>(a[n * channels_ + c]) - b[n * channels_ + c];
      sq += d * d;
    }
    dist_sq[n] = static_cast<float>(sq);
    float term = dist_sq[n];
    if (!is_similar(y[n])) {
      const float h = config_.contrastive_loss.legacy_version ? margin - dist_sq[n]
                                                              : margin - std::sqrt(dist_sq[n]);
      term = config_.contrastive_loss.legacy_version ? std::max(h, 0.0f)
                                                     : std::max(h, 0.0f) * std::max(h, 0.0f);
    }
    loss += term;
  }
  top[0]->data()[0] = static_cast<float>(loss / (2.0 * static_cast<double>(num_)));
}

void ContrastiveLossLayer::backward_cpu(const std::vector<Blob*>& top,
                                        const std::vector<bool>& propagate_down,
                                        const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  const float* a = bottom[0]->data();
  const float* b = bottom[1]->data();
  const float* y = bottom[2]->data();
  const float* dist_sq = static_cast<const float*>(dist_sq_.data());
  const float margin = config_.contrastive_loss.margin;
  const bool legacy = config_.contrastive_loss.legacy_version;
  for (int i = 0; i < 2; ++i) {
    if (!propagate_down[i]) continue;
    const float alpha = (i == 0 ? 1.0f : -1.0f) * top[0]->diff()[0] / static_cast<float>(num_);
    float* dx = bottom[i]->diff();
    for (int64_t n = 0; n < num_; ++n) {
      float beta = alpha;  // similar
      if (!is_similar(y[n])) {
        const float dist = std::sqrt(dist_sq[n]);
        const float h = legacy ? margin - dist_sq[n] : margin - dist;
        beta = h <= 0.0f ? 0.0f : legacy ? -alpha : -alpha * h / (dist + 1e-4f);
      }
      for (int64_t c = 0; c < channels_; ++c) {
        const int64_t k = n * channels_ + c;
        dx[k] = beta * (a[k] - b[k]);
      }
    }
  }
}

std::unique_ptr<Layer> new_contrastive_loss_layer(const LayerConfig& config) {
  return std::make_unique<ContrastiveLossLayer>(config);
}

}  // namespace banyan
