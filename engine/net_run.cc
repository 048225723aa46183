// Running a built net: forward and backward passes layer by layer, the
// loss reduction (deferred on CUDA workers), diffs set before backward,
// lookups by name.
#include <glog/logging.h>

#include <algorithm>
#include <string>

#include "engine/core/bf16.h"
#include "engine/core/math.h"
#include "engine/net.h"
#include "engine/net_device_state.h"
#ifdef BANYAN_WITH_CUDA
#include "cuda/elementwise.h"
#include "cuda/reduce.h"
#include "engine/core/gpu_resources.h"
#endif

namespace banyan {

namespace {

// With GpuOptions::debug_sync: waits for the layer's work and aborts naming
// the layer when it failed asynchronously.
void debug_sync_after(WorkerContext& ctx, const Layer& layer, const char* pass) {
#ifdef BANYAN_WITH_CUDA
  if (!ctx.has_gpu() || !ctx.gpu().options().debug_sync) return;
  Status s = ctx.gpu().synchronize(std::string(pass) + " of layer '" + layer.name() + "' (" +
                                   layer.type() + ")");
  CHECK(s.ok()) << s.message();
#else
  (void)ctx;
  (void)layer;
  (void)pass;
#endif
}

// Sets n floats at x to value on the worker's device.
void fill_on(WorkerContext& ctx, int64_t n, float value, float* x) {
#ifdef BANYAN_WITH_CUDA
  if (ctx.device().is_cuda()) {
    cuda::fill(n, value, x, ctx.gpu().compute());
    return;
  }
#endif
  cpu_set(n, value, x);
}

// Sets the diff of `blob` (any element type) to value.
void fill_diff(WorkerContext& ctx, const Blob& blob, float value) {
  if (blob.dtype() == DType::kFloat32) {
    fill_on(ctx, blob.count(), value, static_cast<float*>(blob.raw_diff()));
    return;
  }
  CHECK(ctx.device().is_cpu()) << "bfloat16 blob '" << blob.name() << "' on a CUDA worker";
  Bf16* d = static_cast<Bf16*>(blob.raw_diff());
  std::fill(d, d + blob.count(), to_bf16(value));
}

// The sum of a CPU blob's data, any element type, in double.
double sum_of(const Blob& blob) {
  double sum = 0.0;
  if (blob.dtype() == DType::kFloat32) {
    const float* x = blob.data();
    for (int64_t j = 0; j < blob.count(); ++j) sum += x[j];
  } else {
    const Bf16* x = static_cast<const Bf16*>(blob.raw_data());
    for (int64_t j = 0; j < blob.count(); ++j) sum += from_bf16(x[j]);
  }
  return sum;
}

}  // namespace

void Net::forward_layer(int i) {
  ctx_->set_workspace(static_cast<float*>(workspace_.data()), workspace_.bytes() / sizeof(float));
  layers_[i]->forward(bottoms_[i], tops_[i], *ctx_);
  debug_sync_after(*ctx_, *layers_[i], "forward");
}

void Net::backward_layer(int i) {
  if (!needs_backward_[i]) return;
  ctx_->set_workspace(static_cast<float*>(workspace_.data()), workspace_.bytes() / sizeof(float));
  layers_[i]->backward(tops_[i], propagate_down_[i], bottoms_[i], *ctx_);
  debug_sync_after(*ctx_, *layers_[i], "backward");
}

float Net::forward() {
  forward_deferred(0);
  return deferred_loss(0);
}

void Net::forward_deferred(int slot) {
  CHECK(slot >= 0 && slot < loss_slots_) << "loss slot " << slot << " of " << loss_slots_;
  for (int i = 0; i < num_layers(); ++i) {
    forward_layer(i);
    if (ctx_->has_error()) {  // a data error: the caller takes it from ctx
      host_losses_[slot] = 0.0;
      return;
    }
  }
#ifdef BANYAN_WITH_CUDA
  if (ctx_->device().is_cuda()) {
    if (losses_.empty()) return;
    // Reduce on the device and copy to pinned memory behind the forward
    // pass; deferred_loss waits for this slot's copy only.
    DeviceState& st = *device_state_;
    const cudaStream_t stream = ctx_->gpu().compute();
    const size_t n = losses_.size();
    double* sums = static_cast<double*>(st.sums.data()) + slot * n;
    for (size_t k = 0; k < n; ++k) {
      cuda::sum(losses_[k].first->count(), losses_[k].first->data(),
                static_cast<double*>(st.partials.data()), sums + k, stream);
    }
    cuda::copy_async(st.host_sums.as<double>() + slot * n, sums, n * sizeof(double), stream);
    st.copied[slot].record(stream);
    return;
  }
#endif
  double loss = 0.0;
  for (auto [blob, weight] : losses_) loss += weight * sum_of(*blob);
  host_losses_[slot] = loss;
}

float Net::deferred_loss(int slot) {
  CHECK(slot >= 0 && slot < loss_slots_) << "loss slot " << slot << " of " << loss_slots_;
#ifdef BANYAN_WITH_CUDA
  if (ctx_->device().is_cuda()) {
    if (losses_.empty()) return 0.0f;
    DeviceState& st = *device_state_;
    st.copied[slot].synchronize();
    const size_t n = losses_.size();
    const double* host = st.host_sums.as<double>() + slot * n;
    double loss = 0.0;
    for (size_t k = 0; k < n; ++k) loss += losses_[k].second * host[k];
    return static_cast<float>(loss);
  }
#endif
  return static_cast<float>(host_losses_[slot]);
}

void Net::prepare_backward() {
  for (auto [blob, value] : diff_fills_) fill_diff(*ctx_, *blob, value);
}

void Net::backward(const std::function<void(int)>& after_layer) {
  prepare_backward();
  for (int i = num_layers() - 1; i >= 0; --i) {
    backward_layer(i);
    if (after_layer) after_layer(i);
  }
}

void Net::clear_param_diffs() { fill_on(*ctx_, param_count_, 0.0f, param_diff_); }

const NetParam* Net::find_param(const std::string& name) const {
  for (const NetParam& p : params_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Blob* Net::blob(const std::string& name) const {
  for (const auto& [n, b] : names_) {
    if (n == name) return b;
  }
  return nullptr;
}

}  // namespace banyan
