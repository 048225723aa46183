// CPU Eltwise: SUM (with coefficients), PROD (gradient as the product of the
// other inputs, so zeros need no division) and MAX (with stored winners).
#include "layers/eltwise.h"

#include <cstring>

#include "layers/registry.h"

namespace banyan {

Status EltwiseLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 2, -1, 1, 1));
  const EltwiseConfig& c = config_.eltwise;
  if (!c.coeff.empty()) {
    if (c.operation != EltwiseConfig::Op::kSum) {
      return error("coeff is only used with operation SUM; remove the " +
                   std::to_string(c.coeff.size()) + " coeff value(s)");
    }
    if (c.coeff.size() != bottom.size()) {
      return error("has " + std::to_string(c.coeff.size()) + " coeff value(s) but " +
                   std::to_string(bottom.size()) + " bottoms; expected one coeff per bottom");
    }
  }
  const Shape& first = bottom[0]->shape();
  for (size_t b = 1; b < bottom.size(); ++b) {
    if (bottom[b]->shape() != first) {
      return error("bottom " + std::to_string(b) + " '" + bottom[b]->name() + "' has shape " +
                   bottom[b]->shape().to_string() + "; expected " + first.to_string() +
                   " like bottom 0 '" + bottom[0]->name() + "'");
    }
  }
  top[0]->set_shape(first);
  if (c.operation == EltwiseConfig::Op::kMax) {
    return Buffer::allocate(device(), static_cast<size_t>(first.count()) * sizeof(int32_t),
                            &argmax_)
        .with_context("layer '" + name() + "' (Eltwise) argmax");
  }
  return Status::success();
}

float EltwiseLayer::coeff(size_t k) const {
  return config_.eltwise.coeff.empty() ? 1.0f : config_.eltwise.coeff[k];
}

void EltwiseLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                               WorkerContext& /*ctx*/) {
  const int64_t n = top[0]->count();
  float* y = top[0]->data();
  switch (config_.eltwise.operation) {
    case EltwiseConfig::Op::kSum: {
      const float c0 = coeff(0);
      const float* x0 = bottom[0]->data();
      for (int64_t i = 0; i < n; ++i) y[i] = c0 * x0[i];
      for (size_t k = 1; k < bottom.size(); ++k) {
        const float ck = coeff(k);
        const float* xk = bottom[k]->data();
        for (int64_t i = 0; i < n; ++i) y[i] += ck * xk[i];
      }
      break;
    }
    case EltwiseConfig::Op::kProd: {
      std::memcpy(y, bottom[0]->data(), static_cast<size_t>(n) * sizeof(float));
      for (size_t k = 1; k < bottom.size(); ++k) {
        const float* xk = bottom[k]->data();
        for (int64_t i = 0; i < n; ++i) y[i] *= xk[i];
      }
      break;
    }
    case EltwiseConfig::Op::kMax: {
      int32_t* arg = static_cast<int32_t*>(argmax_.data());
      std::memcpy(y, bottom[0]->data(), static_cast<size_t>(n) * sizeof(float));
      std::memset(arg, 0, static_cast<size_t>(n) * sizeof(int32_t));
      for (size_t k = 1; k < bottom.size(); ++k) {
        const float* xk = bottom[k]->data();
        for (int64_t i = 0; i < n; ++i) {
          if (xk[i] > y[i]) {
            y[i] = xk[i];
            arg[i] = static_cast<int32_t>(k);
          }
        }
      }
      break;
    }
  }
}

void EltwiseLayer::backward_prod(const std::vector<Blob*>& top,
                                 const std::vector<bool>& propagate_down,
                                 const std::vector<Blob*>& bottom) const {
  const int64_t n = top[0]->count();
  const float* dy = top[0]->diff();
  for (size_t k = 0; k < bottom.size(); ++k) {
    if (!propagate_down[k]) continue;
    float* dx = bottom[k]->diff();
    std::memcpy(dx, dy, static_cast<size_t>(n) * sizeof(float));
    for (size_t j = 0; j < bottom.size(); ++j) {
      if (j == k) continue;
      const float* xj = bottom[j]->data();
      for (int64_t i = 0; i < n; ++i) dx[i] *= xj[i];
    }
  }
}

void EltwiseLayer::backward_cpu(const std::vector<Blob*>& top,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  const int64_t n = top[0]->count();
  const float* dy = top[0]->diff();
  switch (config_.eltwise.operation) {
    case EltwiseConfig::Op::kSum:
      for (size_t k = 0; k < bottom.size(); ++k) {
        if (!propagate_down[k]) continue;
        const float ck = coeff(k);
        float* dx = bottom[k]->diff();
        for (int64_t i = 0; i < n; ++i) dx[i] = ck * dy[i];
      }
      break;
    case EltwiseConfig::Op::kProd:
      backward_prod(top, propagate_down, bottom);
      break;
    case EltwiseConfig::Op::kMax: {
      const int32_t* arg = static_cast<const int32_t*>(argmax_.data());
      for (size_t k = 0; k < bottom.size(); ++k) {
        if (!propagate_down[k]) continue;
        float* dx = bottom[k]->diff();
        const int32_t kk = static_cast<int32_t>(k);
        for (int64_t i = 0; i < n; ++i) dx[i] = arg[i] == kk ? dy[i] : 0.0f;
      }
      break;
    }
  }
}

std::unique_ptr<Layer> new_eltwise_layer(const LayerConfig& config) {
  return std::make_unique<EltwiseLayer>(config);
}

}  // namespace banyan
