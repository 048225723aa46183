// Test passes and per-layer timing over a built Net.
#include "engine/evaluate.h"

#include <algorithm>
#include <chrono>

#include "engine/core/random.h"

namespace banyan {
namespace {

double now_ms() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

}  // namespace

Status evaluate_net(Net& net, int batches, std::vector<std::pair<std::string, float>>* means) {
  if (batches <= 0) {
    return Status::invalid_argument("evaluation needs a positive number of batches, got " +
                                    std::to_string(batches));
  }
  const WorkerPlacement& place = net.ctx().placement();
  std::vector<double> sums(net.outputs().size(), 0.0);
  for (int b = 0; b < batches; ++b) {
    StepInfo& step = net.ctx().step();
    step.phase = Phase::kTest;
    step.iteration = b;
    step.sample_base =
        (static_cast<int64_t>(b) * place.num_groups + place.group_index) * net.batch_size();
    net.forward();
    for (size_t o = 0; o < net.outputs().size(); ++o) {
      const Blob* blob = net.outputs()[o].blob;
      double s = 0.0;
      for (int64_t j = 0; j < blob->count(); ++j) s += blob->data()[j];
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

void fill_synthetic_inputs(Net& net, uint64_t seed) {
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
      for (int64_t j = 0; j < b->count(); ++j) {
        b->data()[j] =
            t == 0 ? normal_at(key, 0, j) : static_cast<float>(uniform_int_at(key, 0, j, classes));
      }
    }
  }
}

Status time_net(Net& net, int iterations, int warmup, NetTiming* out) {
  if (iterations <= 0) {
    return Status::invalid_argument("--iterations must be positive, got " +
                                    std::to_string(iterations));
  }
  const int n = net.num_layers();
  std::vector<double> fwd(n, 0.0), bwd(n, 0.0);
  for (int it = 0; it < warmup + iterations; ++it) {
    StepInfo& step = net.ctx().step();
    step.phase = net.phase();
    step.iteration = it;
    step.sample_base = it * net.batch_size();
    const bool timed = it >= warmup;
    for (int i = 0; i < n; ++i) {
      double t0 = now_ms();
      net.forward_layer(i);
      if (timed) fwd[i] += now_ms() - t0;
    }
    net.clear_param_diffs();
    net.prepare_backward();
    for (int i = n - 1; i >= 0; --i) {
      double t0 = now_ms();
      net.backward_layer(i);
      if (timed) bwd[i] += now_ms() - t0;
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

}  // namespace banyan
