// Shared helpers of the export tests: build a deploy net from prototxt text
// on the CPU, fill its parameters and inputs with seeded random values, and
// run it forward.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/config/loader.h"
#include "engine/core/context.h"
#include "engine/export/onnx_export.h"
#include "engine/net.h"

namespace banyan::testing {

// A deploy net built for export, with the context it runs on.
struct DeployNet {
  NetConfig config;
  std::unique_ptr<WorkerContext> ctx;
  std::unique_ptr<Net> net;
};

// Parses `text` (named `name` in messages) and builds the inference net.
inline Status make_deploy_net(const std::string& text, const std::string& name, DeployNet* out) {
  BANYAN_RETURN_IF_ERROR(parse_net_config(text, name, &out->config));
  out->ctx = std::make_unique<WorkerContext>(Device::cpu(), 7);
  return build_inference_net(out->config, out->ctx.get(), &out->net);
}

// Random parameters: weights U(-a, a) with a = sqrt(3 / fan_in), biases and
// Scale betas U(-0.2, 0.2), Scale gammas U(0.5, 1.5), BatchNorm statistics
// with mean U(-0.5, 0.5), variance U(0.5, 1.5), both times a factor of 2
// stored in the third blob (so the export must divide by it).
inline void randomize_params(const DeployNet& d, uint32_t seed) {
  std::mt19937 rng(seed);
  auto uniform = [&](float lo, float hi) {
    return std::uniform_real_distribution<float>(lo, hi)(rng);
  };
  for (const NetParam& p : d.net->params()) {
    std::string type;
    for (const LayerConfig& l : d.config.layers) {
      if (l.name == p.layer) type = l.type;
    }
    float* x = p.blob->data();
    const Shape& s = p.blob->shape();
    for (int64_t i = 0; i < s.count(); ++i) {
      if (type == "BatchNorm") {
        x[i] = p.index == 0   ? 2.0f * uniform(-0.5f, 0.5f)
               : p.index == 1 ? 2.0f * uniform(0.5f, 1.5f)
                              : 2.0f;
      } else if (type == "Scale") {
        x[i] = p.index == 0 ? uniform(0.5f, 1.5f) : uniform(-0.2f, 0.2f);
      } else if (s.num_axes() >= 2) {
        const float a = std::sqrt(3.0f / static_cast<float>(s.count(1)));
        x[i] = uniform(-a, a);
      } else {
        x[i] = uniform(-0.2f, 0.2f);
      }
    }
  }
}

inline std::vector<float> random_input(Blob* blob, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(blob->shape().count());
  for (float& x : v) x = u(rng);
  std::copy(v.begin(), v.end(), blob->data());
  return v;
}

}  // namespace banyan::testing
