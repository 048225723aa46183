// CPU Embed: row copies from W (plus the bias), and dW / db accumulated in
// index order (the GPU adds in the same order, so they agree bitwise).
#include "layers/embed.h"

#include <cstring>

#include "layers/registry.h"

namespace banyan {

Status EmbedLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const EmbedConfig& c = config_.embed;
  if (c.num_output <= 0 || c.input_dim <= 0) {
    return error("num_output (" + std::to_string(c.num_output) + ") and input_dim (" +
                 std::to_string(c.input_dim) + ") must be > 0");
  }
  rows_ = bottom[0]->count();
  inputs_ = c.input_dim;
  outputs_ = c.num_output;
  declare_param(Shape{inputs_, outputs_}, c.weight_filler);
  if (c.bias_term) declare_param(Shape{outputs_}, c.bias_filler);
  Shape s = bottom[0]->shape();
  s.push_back(outputs_);
  top[0]->set_shape(s);
  return Status::success();
}

void EmbedLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                             WorkerContext& ctx) {
  const float* index = bottom[0]->data();
  const float* w = params_[0].blob->data();
  const float* b = params_.size() > 1 ? params_[1].blob->data() : nullptr;
  float* y = top[0]->data();
  for (int64_t m = 0; m < rows_; ++m) {
    const float v = index[m];
    if (!is_class_id(v, inputs_)) {
      return ctx.report_error(error("index " + format_value(v) + " at position " +
                                    std::to_string(m) + " is not an integer in [0, " +
                                    std::to_string(inputs_) + ") (input_dim)"));
    }
    const float* wr = w + static_cast<int64_t>(v) * outputs_;
    float* yr = y + m * outputs_;
    for (int64_t d = 0; d < outputs_; ++d) yr[d] = b != nullptr ? wr[d] + b[d] : wr[d];
  }
}

void EmbedLayer::backward_cpu(const std::vector<Blob*>& top,
                              const std::vector<bool>& /*propagate_down*/,
                              const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  const float* index = bottom[0]->data();
  const float* dy = top[0]->diff();
  float* dw = params_[0].blob->diff();
  for (int64_t m = 0; m < rows_; ++m) {
    if (!is_class_id(index[m], inputs_)) continue;  // reported in forward
    float* dwr = dw + static_cast<int64_t>(index[m]) * outputs_;
    const float* dyr = dy + m * outputs_;
    for (int64_t d = 0; d < outputs_; ++d) dwr[d] += dyr[d];
  }
  if (params_.size() < 2) return;
  float* db = params_[1].blob->diff();
  for (int64_t d = 0; d < outputs_; ++d) {
    double sum = 0.0;
    for (int64_t m = 0; m < rows_; ++m) sum += dy[m * outputs_ + d];
    db[d] += static_cast<float>(sum);
  }
}

std::unique_ptr<Layer> new_embed_layer(const LayerConfig& config) {
  return std::make_unique<EmbedLayer>(config);
}

}  // namespace banyan
