// Implementation of the GPU-against-CPU layer check; see gpu_compare.h.
#include "tests/common/gpu_compare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/context.h"
#include "engine/core/tensor.h"
#include "tests/common/gpu_skip.h"
#include "tests/common/layer_test_util.h"

#ifdef BANYAN_WITH_CUDA
#include "engine/core/gpu_resources.h"
#endif

namespace banyan::testing {

bool gpu_available(std::string* why) {
  *why = gpu_unavailable_reason();
  return why->empty();
}

#ifndef BANYAN_WITH_CUDA

void compare_gpu_to_cpu(const std::function<std::unique_ptr<Layer>()>&, const std::vector<Shape>&,
                        int, const GpuCompareOptions&) {
  ADD_FAILURE() << "compare_gpu_to_cpu called in a build without CUDA (check gpu_available)";
}

#else

namespace {

const Device kGpu = Device::cuda(0);

std::vector<float> to_host(const float* p, int64_t n, Device d) {
  std::vector<float> v(static_cast<size_t>(n));
  Status s = copy_to_host(p, n, d, v.data());
  EXPECT_TRUE(s.ok()) << s.message();
  return v;
}

void poison(float* p, int64_t n) {
  std::vector<float> nan(static_cast<size_t>(n), std::numeric_limits<float>::quiet_NaN());
  ASSERT_TRUE(copy_to_device(nan.data(), n, kGpu, p).ok());
}

// `magnitude` (optional, n values): the size of the terms behind each element.
void expect_close(const std::string& what, const float* cpu, const float* gpu_device, int64_t n,
                  const GpuCompareOptions& o, const std::vector<double>* magnitude = nullptr) {
  std::vector<float> gpu = to_host(gpu_device, n, kGpu);
  if (magnitude != nullptr) ASSERT_EQ(magnitude->size(), static_cast<size_t>(n)) << what;
  int reported = 0;
  for (int64_t i = 0; i < n && reported < 5; ++i) {
    const double scale = std::max<double>(std::fabs(cpu[i]), 1.0);
    const double terms = magnitude != nullptr ? (*magnitude)[static_cast<size_t>(i)] : 0.0;
    const float tol = static_cast<float>(o.rel_tol * std::max(scale, terms) + o.abs_tol);
    if (!(std::fabs(gpu[i] - cpu[i]) <= tol)) {
      ADD_FAILURE() << what << "[" << i << "]: gpu " << gpu[i] << " vs cpu " << cpu[i]
                    << " (tolerance " << tol << ")";
      ++reported;
    }
  }
}

// The GPU twin of a LayerHarness: device blobs holding the CPU's values.
struct GpuSide {
  explicit GpuSide(uint64_t seed) : ctx(kGpu, seed) {}
  WorkerContext ctx;
  std::vector<std::unique_ptr<Blob> > bottoms, tops;
  std::vector<Blob*> bottom_ptrs, top_ptrs;
  Buffer workspace;
};

}  // namespace

void compare_gpu_to_cpu(const std::function<std::unique_ptr<Layer>()>& make,
                        const std::vector<Shape>& bottom_shapes, int num_tops,
                        const GpuCompareOptions& o) {
  std::unique_ptr<Layer> cpu_layer = make(), gpu_layer = make();
  ASSERT_TRUE(gpu_layer->supports_gpu()) << gpu_layer->type() << " has no GPU code";

  LayerHarness h(bottom_shapes, num_tops, o.seed);
  if (o.prepare_bottoms) o.prepare_bottoms(h.bottom());
  ASSERT_TRUE(h.setup(*cpu_layer).ok());

  GpuSide g(o.seed);
  ASSERT_TRUE(g.ctx.init_device(GpuOptions{/*allow_tf32=*/false, /*debug_sync=*/false}).ok());
  for (size_t i = 0; i < bottom_shapes.size(); ++i) {
    auto b = std::make_unique<Blob>(h.bottom()[i]->name());
    b->set_shape(bottom_shapes[i]);
    ASSERT_TRUE(b->allocate(kGpu).ok());
    ASSERT_TRUE(copy_to_device(h.bottom()[i]->data(), b->count(), kGpu, b->data()).ok());
    g.bottom_ptrs.push_back(b.get());
    g.bottoms.push_back(std::move(b));
  }
  for (int i = 0; i < num_tops; ++i) {
    g.tops.push_back(std::make_unique<Blob>("top" + std::to_string(i)));
    g.top_ptrs.push_back(g.tops.back().get());
  }
  gpu_layer->set_device(kGpu);
  Status s = gpu_layer->setup(g.bottom_ptrs, g.top_ptrs);
  ASSERT_TRUE(s.ok()) << s.message();
  s = gpu_layer->prepare_device(g.ctx);
  ASSERT_TRUE(s.ok()) << s.message();
  for (Blob* t : g.top_ptrs) ASSERT_TRUE(t->allocate(kGpu).ok());
  ASSERT_EQ(gpu_layer->params().size(), cpu_layer->params().size());
  for (size_t k = 0; k < gpu_layer->params().size(); ++k) {
    Blob* gp = gpu_layer->params()[k].blob.get();
    const Blob* cp = cpu_layer->params()[k].blob.get();
    ASSERT_TRUE(gp->allocate(kGpu).ok());
    ASSERT_TRUE(copy_to_device(cp->data(), cp->count(), kGpu, gp->data()).ok());
  }
  const size_t ws = std::max<size_t>(gpu_layer->workspace_floats(), 1);
  ASSERT_TRUE(Buffer::allocate(kGpu, ws * sizeof(float), &g.workspace).ok());
  g.ctx.set_workspace(static_cast<float*>(g.workspace.data()), gpu_layer->workspace_floats());
  ASSERT_TRUE(gpu_layer->on_params_bound().ok());

  for (WorkerContext* c : {&h.ctx(), &g.ctx}) {
    c->step().iteration = o.iteration;
    c->step().sample_base = o.iteration * bottom_shapes.at(0).dim(0);
  }
  for (Blob* t : g.top_ptrs) poison(t->data(), t->count());
  cpu_layer->forward(h.bottom(), h.top(), h.ctx());
  gpu_layer->forward(g.bottom_ptrs, g.top_ptrs, g.ctx);
  s = g.ctx.gpu().synchronize("forward of " + gpu_layer->name());
  ASSERT_TRUE(s.ok()) << s.message();
  for (int i = 0; i < num_tops; ++i) {
    expect_close("top " + std::to_string(i), h.top()[i]->data(), g.top_ptrs[i]->data(),
                 h.top()[i]->count(), o);
  }
  if (!o.check_backward) return;

  std::vector<bool> down = o.propagate_down;
  if (down.empty()) down.assign(bottom_shapes.size(), true);
  for (int i = 0; i < num_tops; ++i) {
    Blob* t = h.top()[i];
    fill_gaussian(t->diff(), t->count(), o.seed * 7 + i);
    ASSERT_TRUE(copy_to_device(t->diff(), t->count(), kGpu, g.top_ptrs[i]->diff()).ok());
  }
  for (size_t i = 0; i < down.size(); ++i) {
    if (down[i]) poison(g.bottom_ptrs[i]->diff(), g.bottom_ptrs[i]->count());
  }
  for (size_t k = 0; k < gpu_layer->params().size(); ++k) {
    const Blob* cp = cpu_layer->params()[k].blob.get();
    std::fill(cp->diff(), cp->diff() + cp->count(), 0.25f);
    ASSERT_TRUE(
        copy_to_device(cp->diff(), cp->count(), kGpu, gpu_layer->params()[k].blob->diff()).ok());
  }
  cpu_layer->backward(h.top(), down, h.bottom(), h.ctx());
  gpu_layer->backward(g.top_ptrs, down, g.bottom_ptrs, g.ctx);
  s = g.ctx.gpu().synchronize("backward of " + gpu_layer->name());
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<double> magnitude;
  if (o.bottom_diff_magnitude) magnitude = o.bottom_diff_magnitude(h.bottom(), h.top());
  for (size_t i = 0; i < down.size(); ++i) {
    if (!down[i]) continue;
    expect_close("bottom diff " + std::to_string(i), h.bottom()[i]->diff(),
                 g.bottom_ptrs[i]->diff(), h.bottom()[i]->count(), o,
                 i == 0 && o.bottom_diff_magnitude ? &magnitude : nullptr);
  }
  for (size_t k = 0; k < gpu_layer->params().size(); ++k) {
    const Blob* cp = cpu_layer->params()[k].blob.get();
    expect_close("param diff " + cp->name(), cp->diff(), gpu_layer->params()[k].blob->diff(),
                 cp->count(), o);
  }
}

#endif  // BANYAN_WITH_CUDA

}  // namespace banyan::testing
