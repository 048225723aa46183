// CPU Reduction: one double accumulator per row (rows in parallel);
// backward scales each row's top gradient by the operation's derivative.
#include "layers/reduction.h"

#include <string>

#include "engine/core/parallel.h"
#include "layers/registry.h"

namespace banyan {

using Op = ReductionConfig::Op;

Status ReductionLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const Shape& s = bottom[0]->shape();
  const int axis = config_.reduction.axis;
  if (!s.valid_axis(axis)) {
    return error("axis " + std::to_string(axis) + " is out of range for bottom '" +
                 bottom[0]->name() + "' of shape " + s.to_string());
  }
  const int a = s.canonical_axis(axis);
  num_ = s.count(0, a);
  dim_ = s.count(a);
  scale_ = config_.reduction.coeff;
  if (config_.reduction.operation == Op::kMean && dim_ > 0) {
    scale_ = static_cast<float>(static_cast<double>(scale_) / static_cast<double>(dim_));
  }
  Shape out;
  for (int d = 0; d < a; ++d) out.push_back(s.dim(d));
  top[0]->set_shape(out);
  return Status::success();
}

void ReductionLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                 WorkerContext& /*ctx*/) {
  const float* x = bottom[0]->data();  // (num, dim)
  float* y = top[0]->data();           // (num)
  const Op op = config_.reduction.operation;
  const int64_t dim = dim_;
  const double scale = scale_;
  parallel_for(num_, dim_, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* row = x + r * dim;
      double sum = 0.0;
      if (op == Op::kAsum) {
        for (int64_t i = 0; i < dim; ++i) sum += row[i] < 0.0f ? -row[i] : row[i];
      } else if (op == Op::kSumSq) {
        for (int64_t i = 0; i < dim; ++i) sum += static_cast<double>(row[i]) * row[i];
      } else {
        for (int64_t i = 0; i < dim; ++i) sum += row[i];
      }
      y[r] = static_cast<float>(sum * scale);
    }
  });
}

void ReductionLayer::backward_cpu(const std::vector<Blob*>& top,
                                  const std::vector<bool>& propagate_down,
                                  const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const float* x = bottom[0]->data();  // (num, dim)
  const float* dy = top[0]->diff();    // (num)
  float* dx = bottom[0]->diff();       // (num, dim)
  const Op op = config_.reduction.operation;
  const int64_t dim = dim_;
  parallel_for(num_, dim_, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float g = scale_ * dy[r];
      const float* xr = x + r * dim;
      float* dr = dx + r * dim;
      if (op == Op::kAsum) {
        for (int64_t i = 0; i < dim; ++i) {
          dr[i] = xr[i] > 0.0f ? g : xr[i] < 0.0f ? -g : 0.0f;
        }
      } else if (op == Op::kSumSq) {
        const float g2 = 2.0f * g;
        for (int64_t i = 0; i < dim; ++i) dr[i] = g2 * xr[i];
      } else {
        for (int64_t i = 0; i < dim; ++i) dr[i] = g;
      }
    }
  });
}

std::unique_ptr<Layer> new_reduction_layer(const LayerConfig& config) {
  return std::make_unique<ReductionLayer>(config);
}

}  // namespace banyan
