// Test passes and per-layer timing over a built Net.
#include "engine/evaluate.h"

#include <algorithm>
#include <chrono>

#include "engine/core/random.h"

#ifdef BANYAN_WITH_CUDA
#include "cuda/stream.h"
#include "engine/core/gpu_resources.h"
#endif

namespace banyan {
namespace {

double now_ms() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

// Per-layer times of one pass: host clocks on the CPU; on a CUDA worker,
// events recorded on the compute stream around each layer and read once the
// pass has finished, so timing adds no synchronisation between layers.
class LayerTimer {
 public:
  LayerTimer(WorkerContext& ctx, int layers) : ctx_(ctx), host_(layers + 1, 0.0) {
#ifdef BANYAN_WITH_CUDA
    if (ctx.has_gpu()) {
      for (int i = 0; i <= layers; ++i) {
        events_.emplace_back(ctx.gpu().ordinal(), cuda::EventTiming::kEnabled);
      }
    }
#endif
  }
  // Marks the start of the layer at position k (0-based in this pass's order).
  void mark(int k) {
#ifdef BANYAN_WITH_CUDA
    if (!events_.empty()) {
      events_[k].record(ctx_.gpu().compute());
      return;
    }
#endif
    host_[k] = now_ms();
  }
  // Milliseconds between marks k and k + 1; call after the pass's last mark.
  void finish() {
#ifdef BANYAN_WITH_CUDA
    if (!events_.empty()) events_.back().synchronize();
#endif
  }
  double elapsed(int k) const {
#ifdef BANYAN_WITH_CUDA
    if (!events_.empty()) return cuda::Event::elapsed_ms(events_[k], events_[k + 1]);
#endif
    return host_[k + 1] - host_[k];
  }

 private:
  WorkerContext& ctx_;
  std::vector<double> host_;
#ifdef BANYAN_WITH_CUDA
  std::vector<cuda::Event> events_;
#endif
};

}  // namespace

Status evaluate_net(Net& net, int batches, std::vector<std::pair<std::string, float>>* means) {
  if (batches <= 0) {
    return Status::invalid_argument("evaluation needs a positive number of batches, got " +
                                    std::to_string(batches));
  }
  const WorkerPlacement& place = net.ctx().placement();
  std::vector<double> sums(net.outputs().size(), 0.0);
  std::vector<float> host;
  for (int b = 0; b < batches; ++b) {
    StepInfo& step = net.ctx().step();
    step.phase = Phase::kTest;
    step.iteration = b;
    step.sample_base =
        (static_cast<int64_t>(b) * place.num_groups + place.group_index) * net.batch_size();
    net.forward();
    BANYAN_RETURN_IF_ERROR(net.ctx().take_error());
    for (size_t o = 0; o < net.outputs().size(); ++o) {
      const Blob* blob = net.outputs()[o].blob;
      BANYAN_RETURN_IF_ERROR(blob_to_host(*blob, false, &host));
      double s = 0.0;
      for (float v : host) s += v;
      sums[o] += blob->count() > 0 ? s / blob->count() : 0.0;
    }
  }
  means->clear();
  for (size_t o = 0; o < sums.size(); ++o) {
    means->push_back({net.outputs()[o].name, static_cast<float>(sums[o] / batches)});
  }
  return Status::success();
}

Status use_synthetic_inputs(NetConfig* config, int channels, int size) {
  for (LayerConfig& l : config->layers) {
    if (l.type != "Data") continue;
    int hw = l.transform.crop_size > 0 ? l.transform.crop_size : size;
    if (hw <= 0 || channels <= 0 || l.data.batch_size <= 0) {
      return Status::invalid_argument("layer '" + l.name + "' at " + l.location.to_string() +
                                      ": synthetic input needs crop_size (or a size), channels and "
                                      "batch_size > 0");
    }
    l.type = "Input";
    l.input.shapes = {Shape{l.data.batch_size, channels, hw, hw}, Shape{l.data.batch_size}};
    l.input.shapes.resize(l.top.size());
  }
  return Status::success();
}

Status fill_synthetic_inputs(Net& net, uint64_t seed) {
  // Labels must be class ids of every classifier that reads them.
  int64_t classes = 0;
  for (int i = 0; i < net.num_layers(); ++i) {
    const std::string& type = net.layer(i).type();
    if (type != "SoftmaxWithLoss" && type != "Accuracy") continue;
    const Blob* scores = net.blob(net.layer(i).config().bottom.at(0));
    if (scores == nullptr || scores->shape().num_axes() < 2) continue;
    const int64_t c = scores->shape().dim(1);
    classes = classes == 0 ? c : std::min(classes, c);
  }
  if (classes <= 0) classes = 10;
  for (int i = 0; i < net.num_layers(); ++i) {
    if (net.layer(i).type() != "Input") continue;
    const auto& tops = net.layer(i).config().top;
    for (size_t t = 0; t < tops.size(); ++t) {
      Blob* b = net.blob(tops[t]);
      uint64_t key = key_for(seed, "synthetic/" + tops[t]);
      std::vector<float> host(static_cast<size_t>(b->count()));
      for (int64_t j = 0; j < b->count(); ++j) {
        host[j] =
            t == 0 ? normal_at(key, 0, j) : static_cast<float>(uniform_int_at(key, 0, j, classes));
      }
      BANYAN_RETURN_IF_ERROR(blob_from_host(host, false, b));
    }
  }
  return Status::success();
}

Status time_net(Net& net, int iterations, int warmup, NetTiming* out) {
  if (iterations <= 0) {
    return Status::invalid_argument("--iterations must be positive, got " +
                                    std::to_string(iterations));
  }
  const int n = net.num_layers();
  std::vector<double> fwd(n, 0.0), bwd(n, 0.0);
  LayerTimer forward_timer(net.ctx(), n), backward_timer(net.ctx(), n);
  for (int it = 0; it < warmup + iterations; ++it) {
    StepInfo& step = net.ctx().step();
    step.phase = net.phase();
    step.iteration = it;
    step.sample_base = it * net.batch_size();
    const bool timed = it >= warmup;
    for (int i = 0; i < n; ++i) {
      forward_timer.mark(i);
      net.forward_layer(i);
    }
    forward_timer.mark(n);
    forward_timer.finish();
    net.clear_param_diffs();
    net.prepare_backward();
    for (int i = n - 1; i >= 0; --i) {
      backward_timer.mark(n - 1 - i);
      net.backward_layer(i);
    }
    backward_timer.mark(n);
    backward_timer.finish();
    if (!timed) continue;
    for (int i = 0; i < n; ++i) {
      fwd[i] += forward_timer.elapsed(i);
      bwd[i] += backward_timer.elapsed(n - 1 - i);
    }
  }
  *out = NetTiming();
  out->batch_size = net.batch_size();
  for (int i = 0; i < n; ++i) {
    LayerTiming t{net.layer(i).name(), net.layer(i).type(), fwd[i] / iterations,
                  bwd[i] / iterations};
    out->forward_ms += t.forward_ms;
    out->backward_ms += t.backward_ms;
    out->layers.push_back(t);
  }
  out->iteration_ms = out->forward_ms + out->backward_ms;
  return Status::success();
}

double training_flops(const Net& net) {
  double flops = 0.0;
  for (int i = 0; i < net.num_layers(); ++i) {
    const Layer& layer = net.layer(i);
    const std::vector<Blob*>& bottom = net.layer_bottoms(i);
    const std::vector<Blob*>& top = net.layer_tops(i);
    if (bottom.empty() || top.empty()) continue;
    double forward = 0.0;
    if (layer.type() == "Convolution" && bottom[0]->num_axes() == 4) {
      const ConvolutionConfig& c = layer.config().convolution;
      const double per_output = static_cast<double>(bottom[0]->dim(1)) / c.group * c.kernel_h *
                                c.kernel_w;  // (C / G) x R x S
      forward = 2.0 * top[0]->count() * per_output;
    } else if (layer.type() == "InnerProduct" && bottom[0]->num_axes() >= 1) {
      const double k_in = static_cast<double>(bottom[0]->count()) / top[0]->dim(0);
      forward = 2.0 * top[0]->count() * k_in;
    } else {
      continue;
    }
    flops += forward;
    if (!net.layer_needs_backward(i)) continue;
    flops += forward;                                      // weight gradient
    if (net.bottom_gets_gradient(i, 0)) flops += forward;  // input gradient
  }
  return flops;
}

}  // namespace banyan
