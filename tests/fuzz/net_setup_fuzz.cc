// Fuzz target: a net prototxt built and run on the CPU, as `banyan time
// --synthetic` does: parse, Data layers replaced by synthetic inputs, every
// layer's setup (shape inference, parameters, workspaces), memory planning,
// the fillers, then one forward and one backward pass.  Nets whose sizes
// could ask for more than a few MiB are skipped (small_enough), so the
// fuzzer spends its time on the shape logic rather than on allocating.
#include <cstdint>
#include <memory>
#include <string>

#include "engine/config/loader.h"
#include "engine/core/context.h"
#include "engine/evaluate.h"
#include "engine/net.h"

namespace {

bool in(int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; }

bool small_enough(const banyan::NetConfig& net) {
  if (net.layers.size() > 16) return false;
  for (const banyan::LayerConfig& l : net.layers) {
    if (l.type == "Data" && !(in(l.data.batch_size, 1, 4) && in(l.transform.crop_size, 0, 16))) {
      return false;
    }
    for (const banyan::Shape& s : l.input.shapes) {
      if (s.num_axes() > 5) return false;
      int64_t count = 1;
      for (int a = 0; a < s.num_axes(); ++a) {
        if (!in(s.dim(a), 0, 32)) return false;
        count *= s.dim(a);
      }
      if (count > 4096) return false;
    }
    const banyan::ConvolutionConfig& c = l.convolution;
    const banyan::PoolingConfig& p = l.pooling;
    if (!in(c.num_output, 0, 16) || !in(c.kernel_h, 0, 8) || !in(c.kernel_w, 0, 8) ||
        !in(c.stride_h, 0, 8) || !in(c.stride_w, 0, 8) || !in(c.pad_h, 0, 8) ||
        !in(c.pad_w, 0, 8) || !in(c.dilation_h, 0, 4) || !in(c.dilation_w, 0, 4) ||
        !in(c.group, 0, 16) || !in(p.kernel_h, 0, 8) || !in(p.kernel_w, 0, 8) ||
        !in(p.stride_h, 0, 8) || !in(p.stride_w, 0, 8) || !in(p.pad_h, 0, 8) ||
        !in(p.pad_w, 0, 8) || !in(l.inner_product.num_output, 0, 64) ||
        !in(l.lrn.local_size, 0, 15) || !in(l.tile.tiles, 0, 8) || !in(l.embed.num_output, 0, 64) ||
        !in(l.embed.input_dim, 0, 64) || !in(l.spp.pyramid_height, 0, 4) ||
        !in(l.argmax.top_k, 0, 64)) {
      return false;
    }
    for (const banyan::Shape& s : l.dummy_data.shapes) {
      if (s.num_axes() > 5) return false;
      int64_t count = 1;
      for (int a = 0; a < s.num_axes(); ++a) {
        if (!in(s.dim(a), 0, 32)) return false;
        count *= s.dim(a);
      }
      if (count > 4096) return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  banyan::NetConfig config;
  if (!banyan::parse_net_config(std::string(reinterpret_cast<const char*>(data), size),
                                "fuzz.prototxt", &config)
           .ok() ||
      !banyan::use_synthetic_inputs(&config, 3, 8).ok() || !small_enough(config)) {
    return 0;
  }
  banyan::WorkerContext ctx(banyan::Device::cpu(), 1);
  banyan::CpuOptions cpu;
  cpu.threads = 1;
  ctx.set_cpu_options(cpu);
  if (!ctx.init_device().ok()) __builtin_trap();  // a CPU context always initialises
  for (banyan::Phase phase : {banyan::Phase::kTrain, banyan::Phase::kTest}) {
    banyan::NetBuildOptions options;
    options.phase = phase;
    std::unique_ptr<banyan::Net> net;
    if (!banyan::Net::create(config, options, &ctx, &net).ok()) continue;
    if (!banyan::fill_synthetic_inputs(*net, 1).ok()) continue;
    net->forward();
    if (!ctx.take_error().ok()) continue;
    if (phase == banyan::Phase::kTrain) net->backward();
  }
  return 0;
}
