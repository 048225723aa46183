// GPU layer runs the comparison harness cannot express: ReLU and Dropout in
// place, Dropout in the TEST phase, BatchNorm's running statistics across
// steps and phases, bitwise run-to-run reproducibility of the reductions,
// invalid labels (NaN outputs, since a GPU cannot stop without a host sync),
// and Input.  Skipped without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/context.h"
#include "engine/core/tensor.h"
#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::fill_gaussian;
using banyan::testing::LayerHarness;

const Device kGpu = Device::cuda(0);

std::vector<float> to_host(const float* p, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  Status s = copy_to_host(p, n, kGpu, v.data());
  EXPECT_TRUE(s.ok()) << s.message();
  return v;
}

// |gpu - cpu| <= tol * max(|cpu|, 1) per element (tol 0: bitwise equal values).
void expect_close(const std::string& what, const float* cpu, const std::vector<float>& gpu,
                  float tol) {
  int reported = 0;
  for (size_t i = 0; i < gpu.size() && reported < 5; ++i) {
    if (!(std::fabs(gpu[i] - cpu[i]) <= tol * std::fmax(std::fabs(cpu[i]), 1.0f))) {
      ADD_FAILURE() << what << "[" << i << "]: gpu " << gpu[i] << " vs cpu " << cpu[i];
      ++reported;
    }
  }
}

// One layer on cuda:0 whose bottoms start with the values of given CPU blobs.
struct GpuLayer {
  explicit GpuLayer(uint64_t seed) : ctx(kGpu, seed) {}

  // Sets `l` up (top 0 is bottom 0 when in_place) and binds everything; the
  // parameters take the data of `params_from` (same config, set up on the CPU).
  void init(std::unique_ptr<Layer> l, const std::vector<Blob*>& host_bottoms, int num_tops,
            bool in_place, const Layer* params_from = nullptr) {
    ASSERT_TRUE(ctx.init_device(GpuOptions{/*allow_tf32=*/false, /*debug_sync=*/false}).ok());
    for (Blob* h : host_bottoms) {
      owned.push_back(std::make_unique<Blob>(h->name()));
      Blob* b = owned.back().get();
      b->set_shape(h->shape());
      ASSERT_TRUE(b->allocate(kGpu).ok());
      ASSERT_TRUE(copy_to_device(h->data(), h->count(), kGpu, b->data()).ok());
      bottom.push_back(b);
    }
    for (int i = 0; i < num_tops; ++i) {
      if (in_place && i == 0) {
        top.push_back(bottom[0]);
        continue;
      }
      owned.push_back(std::make_unique<Blob>("top" + std::to_string(i)));
      top.push_back(owned.back().get());
    }
    layer = std::move(l);
    layer->set_device(kGpu);
    Status s = layer->setup(bottom, top);
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_TRUE(layer->prepare_device(ctx).ok());
    for (Blob* t : top) {
      if (!t->bound()) {
        ASSERT_TRUE(t->allocate(kGpu).ok());
      }
    }
    for (size_t k = 0; k < layer->params().size(); ++k) {
      Blob* p = layer->params()[k].blob.get();
      ASSERT_TRUE(p->allocate(kGpu).ok());
      if (params_from != nullptr) {
        const Blob* src = params_from->params()[k].blob.get();
        ASSERT_TRUE(copy_to_device(src->data(), src->count(), kGpu, p->data()).ok());
      }
    }
    const size_t ws = std::max<size_t>(layer->workspace_floats(), 1);
    ASSERT_TRUE(Buffer::allocate(kGpu, ws * sizeof(float), &workspace).ok());
    ctx.set_workspace(static_cast<float*>(workspace.data()), layer->workspace_floats());
    ASSERT_TRUE(layer->on_params_bound().ok());
  }

  void forward(Phase phase, int64_t iteration) {
    set_step(&ctx, phase, iteration, bottom.empty() ? 1 : bottom[0]->dim(0));
    layer->forward(bottom, top, ctx);
  }

  static void set_step(WorkerContext* c, Phase phase, int64_t iteration, int64_t batch) {
    c->step().phase = phase;
    c->step().iteration = iteration;
    c->step().sample_base = iteration * batch;
  }

  WorkerContext ctx;
  std::unique_ptr<Layer> layer;
  std::vector<std::unique_ptr<Blob>> owned;
  std::vector<Blob*> bottom, top;
  Buffer workspace;
};

// Runs one layer on the CPU (distinct top) and on the GPU in place, forward
// and backward, and expects the same values (tol relative).
void compare_in_place(const LayerConfig& config, Phase phase, float tol) {
  const Shape shape{6, 3, 11};
  std::unique_ptr<Layer> cpu;
  ASSERT_TRUE(create_layer(config, &cpu).ok());
  LayerHarness h({shape}, 1, /*seed=*/7);
  ASSERT_TRUE(h.setup(*cpu).ok());
  h.bottom()[0]->data()[0] = 0.0f;  // the kink
  h.bottom()[0]->data()[5] = -0.0f;
  std::unique_ptr<Layer> gpu_layer;
  ASSERT_TRUE(create_layer(config, &gpu_layer).ok());
  GpuLayer g(/*seed=*/7);
  ASSERT_NO_FATAL_FAILURE(g.init(std::move(gpu_layer), h.bottom(), 1, /*in_place=*/true));
  ASSERT_EQ(g.top[0], g.bottom[0]);

  GpuLayer::set_step(&h.ctx(), phase, 5, shape.dim(0));
  cpu->forward(h.bottom(), h.top(), h.ctx());
  g.forward(phase, 5);
  const int64_t n = shape.count();
  expect_close("top", h.top()[0]->data(), to_host(g.top[0]->data(), n), tol);

  fill_gaussian(h.top()[0]->diff(), n, 99);
  ASSERT_TRUE(copy_to_device(h.top()[0]->diff(), n, kGpu, g.top[0]->diff()).ok());
  cpu->backward(h.top(), {true}, h.bottom(), h.ctx());
  g.layer->backward(g.top, {true}, g.bottom, g.ctx);
  expect_close("bottom diff", h.bottom()[0]->diff(), to_host(g.bottom[0]->diff(), n), tol);
}

LayerConfig named(const std::string& type, const std::string& name) {
  LayerConfig c;
  c.type = type;
  c.name = name;
  return c;
}

TEST(GpuLayerStateTest, ReluInPlaceMatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (float slope : {0.0f, 0.2f}) {
    SCOPED_TRACE("slope " + std::to_string(slope));
    LayerConfig c = named("ReLU", "relu_ip");
    c.relu.negative_slope = slope;
    compare_in_place(c, Phase::kTrain, 0.0f);
  }
}

TEST(GpuLayerStateTest, DropoutInPlaceMatchesCpuInBothPhases) {
  BANYAN_SKIP_WITHOUT_GPU();
  LayerConfig c = named("Dropout", "drop_ip");
  c.dropout.dropout_ratio = 0.4f;
  for (Phase phase : {Phase::kTrain, Phase::kTest}) {
    SCOPED_TRACE(phase == Phase::kTrain ? "TRAIN" : "TEST");
    compare_in_place(c, phase, 1e-6f);
  }
}

TEST(GpuLayerStateTest, DropoutTestPhaseIsTheIdentity) {
  BANYAN_SKIP_WITHOUT_GPU();
  LayerConfig c = named("Dropout", "drop_test");
  c.dropout.dropout_ratio = 0.6f;
  LayerHarness h({Shape{5, 2, 7}}, 1, 3);
  const int64_t n = h.bottom()[0]->count();
  std::unique_ptr<Layer> l;
  ASSERT_TRUE(create_layer(c, &l).ok());
  GpuLayer g(3);
  ASSERT_NO_FATAL_FAILURE(g.init(std::move(l), h.bottom(), 1, /*in_place=*/false));
  g.forward(Phase::kTest, 2);
  expect_close("top", h.bottom()[0]->data(), to_host(g.top[0]->data(), n), 0.0f);
  fill_gaussian(h.bottom()[0]->diff(), n, 5);  // used as the top gradient
  ASSERT_TRUE(copy_to_device(h.bottom()[0]->diff(), n, kGpu, g.top[0]->diff()).ok());
  g.layer->backward(g.top, {true}, g.bottom, g.ctx);
  expect_close("bottom diff", h.bottom()[0]->diff(), to_host(g.bottom[0]->diff(), n), 0.0f);
}

TEST(GpuLayerStateTest, BatchNormRunningStatisticsFollowCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  LayerConfig c = named("BatchNorm", "bn_state");
  c.batch_norm.moving_average_fraction = 0.9f;  // use_global_stats unset: follows the phase
  std::unique_ptr<Layer> cpu;
  ASSERT_TRUE(create_layer(c, &cpu).ok());
  LayerHarness h({Shape{8, 4, 9, 7}}, 1, 3);
  ASSERT_TRUE(h.setup(*cpu).ok());
  for (int64_t k = 0; k < 4; ++k) {
    float* var = cpu->params()[1].blob->data();
    var[k] = std::fabs(var[k]) + 0.5f;
  }
  cpu->params()[2].blob->data()[0] = 1.5f;
  std::unique_ptr<Layer> l;
  ASSERT_TRUE(create_layer(c, &l).ok());
  GpuLayer g(3);
  ASSERT_NO_FATAL_FAILURE(g.init(std::move(l), h.bottom(), 1, false, cpu.get()));
  const int64_t n = h.bottom()[0]->count();
  for (int64_t it = 0; it < 2; ++it) {  // two TRAIN steps, then TEST with the stored statistics
    GpuLayer::set_step(&h.ctx(), Phase::kTrain, it, 8);
    cpu->forward(h.bottom(), h.top(), h.ctx());
    g.forward(Phase::kTrain, it);
  }
  for (size_t k = 0; k < 3; ++k) {
    const Blob* p = cpu->params()[k].blob.get();
    expect_close("param " + std::to_string(k), p->data(),
                 to_host(g.layer->params()[k].blob->data(), p->count()), 1e-5f);
  }
  GpuLayer::set_step(&h.ctx(), Phase::kTest, 0, 8);
  cpu->forward(h.bottom(), h.top(), h.ctx());
  g.forward(Phase::kTest, 0);
  expect_close("test top", h.top()[0]->data(), to_host(g.top[0]->data(), n), 1e-4f);
  fill_gaussian(h.top()[0]->diff(), n, 21);
  ASSERT_TRUE(copy_to_device(h.top()[0]->diff(), n, kGpu, g.top[0]->diff()).ok());
  cpu->backward(h.top(), {true}, h.bottom(), h.ctx());
  g.layer->backward(g.top, {true}, g.bottom, g.ctx);
  expect_close("test bottom diff", h.bottom()[0]->diff(), to_host(g.bottom[0]->diff(), n), 1e-4f);
}

// Everything a forward and backward pass on the GPU produced, in host memory.
std::vector<std::vector<float>> run_once(const LayerConfig& config, LayerHarness& h, Layer& cpu,
                                         int num_tops, const std::vector<bool>& down) {
  std::unique_ptr<Layer> l;
  EXPECT_TRUE(create_layer(config, &l).ok());
  GpuLayer g(13);
  g.init(std::move(l), h.bottom(), num_tops, false, &cpu);
  std::vector<std::vector<float>> out;
  if (::testing::Test::HasFatalFailure()) return out;
  g.forward(Phase::kTrain, 1);
  for (Blob* t : g.top) {
    std::vector<float> d(static_cast<size_t>(t->count()));
    fill_gaussian(d.data(), t->count(), 31);
    EXPECT_TRUE(copy_to_device(d.data(), t->count(), kGpu, t->diff()).ok());
    out.push_back(to_host(t->data(), t->count()));
  }
  g.layer->backward(g.top, down, g.bottom, g.ctx);
  for (size_t i = 0; i < down.size(); ++i) {
    if (down[i]) out.push_back(to_host(g.bottom[i]->diff(), g.bottom[i]->count()));
  }
  for (const LayerParam& p : g.layer->params()) {
    out.push_back(to_host(p.blob->data(), p.blob->count()));
    out.push_back(to_host(p.blob->diff(), p.blob->count()));
  }
  return out;
}

// Two fresh GPU runs of `config` on the same inputs give bitwise equal results.
void expect_reproducible(const LayerConfig& config, const std::vector<Shape>& shapes, int num_tops,
                         const std::vector<bool>& down,
                         const std::function<void(const std::vector<Blob*>&)>& prepare = {}) {
  std::unique_ptr<Layer> cpu;
  ASSERT_TRUE(create_layer(config, &cpu).ok());
  LayerHarness h(shapes, num_tops, 17);
  if (prepare) prepare(h.bottom());
  ASSERT_TRUE(h.setup(*cpu).ok());
  const auto first = run_once(config, h, *cpu, num_tops, down);
  const auto second = run_once(config, h, *cpu, num_tops, down);
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    ASSERT_EQ(first[i].size(), second[i].size());
    EXPECT_EQ(std::memcmp(first[i].data(), second[i].data(), first[i].size() * sizeof(float)), 0)
        << "output " << i << " differs between two runs";
  }
}

TEST(GpuLayerStateTest, ReductionsAreBitwiseReproducible) {
  BANYAN_SKIP_WITHOUT_GPU();
  LayerConfig bn = named("BatchNorm", "bn_rep");
  bn.batch_norm.use_global_stats = false;
  expect_reproducible(bn, {Shape{32, 16, 19, 19}}, 1, {true});
  LayerConfig scale = named("Scale", "scale_rep");
  scale.scale.bias_term = true;
  expect_reproducible(scale, {Shape{32, 16, 19, 19}}, 1, {true});
  LayerConfig loss = named("SoftmaxWithLoss", "loss_rep");
  loss.loss.ignore_label = 255;
  expect_reproducible(loss, {Shape{16, 21, 23, 23}, Shape{16, 23, 23}}, 2, {true, false},
                      [](const std::vector<Blob*>& b) {
                        for (int64_t i = 0; i < b[1]->count(); ++i) {
                          b[1]->data()[i] = i % 9 == 4 ? 255.0f : static_cast<float>(i % 21);
                        }
                      });
}

TEST(GpuLayerStateTest, InvalidLabelsGiveNanOnTheGpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (float bad : {5.0f, -2.0f, 1.5f}) {
    SCOPED_TRACE("label " + std::to_string(bad));
    LayerHarness h({Shape{4, 5}, Shape{4}}, 1, 19);
    float* labels = h.bottom()[1]->data();
    labels[0] = 1.0f;
    labels[1] = bad;
    labels[2] = 4.0f;
    labels[3] = 255.0f;
    {
      LayerConfig c = named("SoftmaxWithLoss", "loss_bad");
      c.loss.ignore_label = 255;
      std::unique_ptr<Layer> l;
      ASSERT_TRUE(create_layer(c, &l).ok());
      GpuLayer g(19);
      ASSERT_NO_FATAL_FAILURE(g.init(std::move(l), h.bottom(), 1, false));
      g.forward(Phase::kTrain, 0);
      EXPECT_TRUE(std::isnan(to_host(g.top[0]->data(), 1)[0]));
      const float one = 1.0f;
      ASSERT_TRUE(copy_to_device(&one, 1, kGpu, g.top[0]->diff()).ok());
      g.layer->backward(g.top, {true, false}, g.bottom, g.ctx);
      const std::vector<float> dx = to_host(g.bottom[0]->diff(), 20);
      for (int c = 0; c < 5; ++c) {
        EXPECT_TRUE(std::isfinite(dx[c])) << c;   // label 1
        EXPECT_TRUE(std::isnan(dx[5 + c])) << c;  // the bad label
        EXPECT_EQ(dx[15 + c], 0.0f) << c;         // ignored
      }
    }
    {
      LayerConfig c = named("Accuracy", "acc_bad");
      c.accuracy.ignore_label = 255;
      std::unique_ptr<Layer> l;
      ASSERT_TRUE(create_layer(c, &l).ok());
      GpuLayer g(19);
      ASSERT_NO_FATAL_FAILURE(g.init(std::move(l), h.bottom(), 2, false));
      g.forward(Phase::kTest, 0);
      EXPECT_TRUE(std::isnan(to_host(g.top[0]->data(), 1)[0]));
      EXPECT_TRUE(std::isnan(to_host(g.top[1]->data(), 5)[1]));
    }
  }
}

TEST(GpuLayerStateTest, InputForwardLeavesTopsAlone) {
  BANYAN_SKIP_WITHOUT_GPU();
  LayerConfig c = named("Input", "data");
  c.input.shapes = {Shape{2, 3, 5}};
  std::unique_ptr<Layer> l;
  ASSERT_TRUE(create_layer(c, &l).ok());
  EXPECT_TRUE(l->supports_gpu());
  GpuLayer g(1);
  ASSERT_NO_FATAL_FAILURE(g.init(std::move(l), {}, 2, false));
  std::vector<float> values(30);
  fill_gaussian(values.data(), 30, 4);
  for (Blob* t : g.top) {
    ASSERT_EQ(t->shape(), (Shape{2, 3, 5}));
    ASSERT_TRUE(copy_to_device(values.data(), 30, kGpu, t->data()).ok());
  }
  g.forward(Phase::kTrain, 0);
  g.layer->backward(g.top, {}, g.bottom, g.ctx);
  for (Blob* t : g.top) expect_close("top", values.data(), to_host(t->data(), 30), 0.0f);
}

}  // namespace
}  // namespace banyan
