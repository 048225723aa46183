// CPU InnerProduct: GEMMs for y, dW and dx (oneDNN's, or OpenBLAS on the
// reference backend); the bias and its gradient are plain loops (the bias
// gradient summed in double).
#include "layers/inner_product.h"

#include <glog/logging.h>

#include <climits>
#include <string>

#include "engine/core/math.h"
#include "layers/registry.h"

namespace banyan {

Status InnerProductLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const InnerProductConfig& c = config_.inner_product;
  if (c.num_output <= 0) {
    return error("num_output must be positive, got " + std::to_string(c.num_output));
  }
  const Shape& s = bottom[0]->shape();
  if (!s.valid_axis(c.axis)) {
    return error("axis " + std::to_string(c.axis) + " is out of range for bottom '" +
                 bottom[0]->name() + "' of shape " + s.to_string());
  }
  const int axis = s.canonical_axis(c.axis);
  const int64_t rows = s.count(0, axis), inputs = s.count(axis);
  if (inputs <= 0 || rows > INT_MAX || inputs > INT_MAX ||
      static_cast<int64_t>(c.num_output) * inputs > INT_MAX) {
    return error("bottom '" + bottom[0]->name() + "' of shape " + s.to_string() +
                 " flattened at axis " + std::to_string(axis) + " gives " + std::to_string(rows) +
                 " rows of " + std::to_string(inputs) +
                 " inputs; expected a positive input count with all GEMM sizes below 2^31");
  }
  rows_ = static_cast<int>(rows);
  inputs_ = static_cast<int>(inputs);
  outputs_ = c.num_output;
  transpose_ = c.transpose;
  declare_param(transpose_ ? Shape{inputs, outputs_} : Shape{outputs_, inputs}, c.weight_filler);
  if (c.bias_term) declare_param(Shape{outputs_}, c.bias_filler);
  std::vector<int64_t> dims(s.dims().begin(), s.dims().begin() + axis);
  dims.push_back(outputs_);
  top[0]->set_shape(Shape(std::move(dims)));
  return Status::success();
}

bool InnerProductLayer::transposed_forward() const {
  return device().is_cpu() && cpu_.backend == CpuBackend::kDefault && rows_ < outputs_;
}

size_t InnerProductLayer::workspace_floats() const {
  return transposed_forward() ? static_cast<size_t>(rows_) * outputs_ : 0;
}

void InnerProductLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                                    WorkerContext& ctx) {
  const GemmFn gemm = cpu_.backend == CpuBackend::kReference ? cpu_gemm : dnnl_gemm;
  const float* x = bottom[0]->data();             // (M, K)
  const float* weight = params_[0].blob->data();  // (N, K), or (K, N) when transposed
  float* y = top[0]->data();                      // (M, N)
  const float* bias = params_.size() > 1 ? params_[1].blob->data() : nullptr;
  if (transposed_forward()) {
    CHECK_GE(ctx.workspace_floats(), workspace_floats()) << "layer " << name();
    float* yt = ctx.workspace();  // (N, M)
    // y^T (N, M) = W (N, K) x^T (K, M), or W^T with W (K, N).
    dnnl_gemm(transpose_, true, outputs_, rows_, inputs_, 1.0f, weight, x, 0.0f, yt);
    for (int m = 0; m < rows_; ++m) {
      float* row = y + static_cast<int64_t>(m) * outputs_;
      for (int o = 0; o < outputs_; ++o) {
        row[o] = yt[static_cast<int64_t>(o) * rows_ + m] + (bias != nullptr ? bias[o] : 0.0f);
      }
    }
    return;
  }
  gemm(false, !transpose_, rows_, outputs_, inputs_, 1.0f, x, weight, 0.0f, y);
  if (bias == nullptr) return;
  for (int m = 0; m < rows_; ++m) {
    float* row = y + static_cast<int64_t>(m) * outputs_;
    for (int o = 0; o < outputs_; ++o) row[o] += bias[o];
  }
}

void InnerProductLayer::backward_cpu(const std::vector<Blob*>& top,
                                     const std::vector<bool>& propagate_down,
                                     const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  const GemmFn gemm = cpu_.backend == CpuBackend::kReference ? cpu_gemm : dnnl_gemm;
  const float* x = bottom[0]->data();  // (M, K)
  const float* dy = top[0]->diff();    // (M, N)
  float* weight_diff = params_[0].blob->diff();
  if (transpose_) {
    // dW (K, N) += x^T (K, M) * dy (M, N)
    gemm(true, false, inputs_, outputs_, rows_, 1.0f, x, dy, 1.0f, weight_diff);
  } else {
    // dW (N, K) += dy^T (N, M) * x (M, K)
    gemm(true, false, outputs_, inputs_, rows_, 1.0f, dy, x, 1.0f, weight_diff);
  }
  if (params_.size() > 1) {
    float* bias_diff = params_[1].blob->diff();
    for (int o = 0; o < outputs_; ++o) {
      double sum = 0.0;
      for (int m = 0; m < rows_; ++m) sum += dy[static_cast<int64_t>(m) * outputs_ + o];
      bias_diff[o] += static_cast<float>(sum);
    }
  }
  if (!propagate_down[0]) return;
  // dx (M, K) = dy (M, N) * W (N, K), or dy * W^T with W (K, N).
  gemm(false, transpose_, rows_, inputs_, outputs_, 1.0f, dy, params_[0].blob->data(), 0.0f,
       bottom[0]->diff());
}

std::unique_ptr<Layer> new_inner_product_layer(const LayerConfig& config) {
  return std::make_unique<InnerProductLayer>(config);
}

}  // namespace banyan
