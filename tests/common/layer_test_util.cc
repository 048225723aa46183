// Implementation of the layer test harness and the gradient checker.
#include "tests/common/layer_test_util.h"

#include <glog/logging.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/core/random.h"

namespace banyan::testing {

void fill_gaussian(float* x, int64_t n, uint64_t seed, float mean, float std) {
  uint64_t key = mix_key(seed, 17);
  for (int64_t i = 0; i < n; ++i) x[i] = mean + std * normal_at(key, 0, static_cast<uint64_t>(i));
}

void fill_uniform(float* x, int64_t n, uint64_t seed, float lo, float hi) {
  uint64_t key = mix_key(seed, 29);
  for (int64_t i = 0; i < n; ++i)
    x[i] = lo + (hi - lo) * uniform_at(key, 0, static_cast<uint64_t>(i));
}

LayerHarness::LayerHarness(std::vector<Shape> bottom_shapes, int num_tops, uint64_t seed)
    : ctx_(Device::cpu(), seed), seed_(seed) {
  for (size_t i = 0; i < bottom_shapes.size(); ++i) {
    auto b = std::make_unique<Blob>("bottom" + std::to_string(i));
    b->set_shape(bottom_shapes[i]);
    CHECK(b->allocate(Device::cpu()).ok());
    fill_gaussian(b->data(), b->count(), seed * 131 + i);
    bottom_ptrs_.push_back(b.get());
    bottoms_.push_back(std::move(b));
  }
  for (int i = 0; i < num_tops; ++i) {
    auto t = std::make_unique<Blob>("top" + std::to_string(i));
    top_ptrs_.push_back(t.get());
    tops_.push_back(std::move(t));
  }
}

Status LayerHarness::setup(Layer& layer) {
  BANYAN_RETURN_IF_ERROR(layer.setup(bottom_ptrs_, top_ptrs_));
  for (Blob* t : top_ptrs_) {
    if (!t->bound()) BANYAN_RETURN_IF_ERROR(t->allocate(Device::cpu()));
  }
  uint64_t k = 0;
  for (LayerParam& p : layer.params()) {
    BANYAN_RETURN_IF_ERROR(p.blob->allocate(Device::cpu()));
    fill_gaussian(p.blob->data(), p.blob->count(), seed_ * 977 + (k++), 0.0f, 0.5f);
  }
  workspace_.assign(std::max<size_t>(layer.workspace_floats(), 1), 0.0f);
  ctx_.set_workspace(workspace_.data(), layer.workspace_floats());
  return layer.on_params_bound();
}

namespace {

double objective(const std::vector<Blob*>& top, const std::vector<std::vector<float>>& w) {
  double s = 0.0;
  for (size_t t = 0; t < top.size(); ++t) {
    for (int64_t i = 0; i < top[t]->count(); ++i)
      s += static_cast<double>(w[t][i]) * top[t]->data()[i];
  }
  return s;
}

struct Target {
  std::string what;
  float* value;
  const float* grad;
  int64_t count;
};

}  // namespace

void check_gradients(Layer& layer, LayerHarness& h, const GradientCheckOptions& o,
                     std::vector<bool> check_bottom) {
  auto& bottom = h.bottom();
  auto& top = h.top();
  WorkerContext& ctx = h.ctx();
  if (check_bottom.empty()) check_bottom.assign(bottom.size(), true);
  ASSERT_EQ(check_bottom.size(), bottom.size());

  std::vector<std::vector<float>> w(top.size());
  for (size_t t = 0; t < top.size(); ++t) {
    w[t].resize(top[t]->count());
    fill_gaussian(w[t].data(), top[t]->count(), o.seed + t);
  }
  // Analytic gradients.
  layer.forward(bottom, top, ctx);
  for (size_t t = 0; t < top.size(); ++t) std::copy(w[t].begin(), w[t].end(), top[t]->diff());
  for (LayerParam& p : layer.params())
    std::fill(p.blob->diff(), p.blob->diff() + p.blob->count(), 0.0f);
  for (Blob* b : bottom) std::fill(b->diff(), b->diff() + b->count(), std::nanf(""));
  layer.backward(top, check_bottom, bottom, ctx);

  std::vector<std::vector<float>> analytic;
  std::vector<Target> targets;
  for (size_t i = 0; i < bottom.size(); ++i) {
    if (!check_bottom[i]) continue;
    analytic.emplace_back(bottom[i]->diff(), bottom[i]->diff() + bottom[i]->count());
    targets.push_back(
        {"bottom[" + std::to_string(i) + "]", bottom[i]->data(), nullptr, bottom[i]->count()});
  }
  if (o.check_params) {
    for (size_t p = 0; p < layer.params().size(); ++p) {
      Blob* b = layer.params()[p].blob.get();
      if (!layer.params()[p].learnable) continue;
      analytic.emplace_back(b->diff(), b->diff() + b->count());
      targets.push_back({"param[" + std::to_string(p) + "]", b->data(), nullptr, b->count()});
    }
  }
  for (size_t t = 0; t < targets.size(); ++t) {
    const Target& tg = targets[t];
    int64_t stride = 1;
    if (o.max_checks_per_blob > 0 && tg.count > o.max_checks_per_blob) {
      stride = (tg.count + o.max_checks_per_blob - 1) / o.max_checks_per_blob;
    }
    int failures = 0;
    for (int64_t j = 0; j < tg.count; j += stride) {
      float orig = tg.value[j];
      if (o.kink_range > 0 && std::fabs(orig - o.kink) < o.kink_range) continue;
      tg.value[j] = orig + o.step;
      layer.forward(bottom, top, ctx);
      double plus = objective(top, w);
      tg.value[j] = orig - o.step;
      layer.forward(bottom, top, ctx);
      double minus = objective(top, w);
      tg.value[j] = orig;
      double numeric = (plus - minus) / (2.0 * o.step);
      double a = analytic[t][j];
      double scale = std::max({std::fabs(a), std::fabs(numeric), 1.0});
      if (!(std::fabs(a - numeric) <= o.threshold * scale)) {
        if (++failures <= 5) {
          ADD_FAILURE() << "layer '" << layer.name() << "' " << tg.what << " element " << j
                        << ": analytic " << a << " vs numeric " << numeric;
        }
      }
    }
    EXPECT_EQ(failures, 0) << "layer '" << layer.name() << "' " << tg.what
                           << " gradient mismatches";
  }
}

void check_accumulates_twice(Layer& layer, LayerHarness& h, float rel_tol) {
  auto& bottom = h.bottom();
  auto& top = h.top();
  WorkerContext& ctx = h.ctx();
  std::vector<bool> down(bottom.size(), true);
  layer.forward(bottom, top, ctx);
  for (size_t t = 0; t < top.size(); ++t) fill_gaussian(top[t]->diff(), top[t]->count(), 4242 + t);
  for (LayerParam& p : layer.params())
    std::fill(p.blob->diff(), p.blob->diff() + p.blob->count(), 0.0f);
  layer.backward(top, down, bottom, ctx);
  std::vector<std::vector<float>> g1, b1;
  for (LayerParam& p : layer.params())
    g1.emplace_back(p.blob->diff(), p.blob->diff() + p.blob->count());
  for (Blob* b : bottom) b1.emplace_back(b->diff(), b->diff() + b->count());
  // Poison the bottom diffs: the second pass must overwrite them.
  for (Blob* b : bottom) std::fill(b->diff(), b->diff() + b->count(), 1e30f);
  layer.backward(top, down, bottom, ctx);
  bool any_param_grad = false;
  for (size_t p = 0; p < layer.params().size(); ++p) {
    if (!layer.params()[p].learnable) continue;
    const float* g = layer.params()[p].blob->diff();
    for (size_t j = 0; j < g1[p].size(); ++j) {
      any_param_grad = any_param_grad || g1[p][j] != 0.0f;
      ASSERT_NEAR(g[j], 2.0f * g1[p][j], rel_tol * std::max(1.0f, std::fabs(2.0f * g1[p][j])))
          << "param[" << p << "] element " << j << " did not accumulate";
    }
  }
  for (size_t i = 0; i < bottom.size(); ++i) {
    if (!layer.can_propagate_down(static_cast<int>(i))) continue;
    const float* d = bottom[i]->diff();
    for (size_t j = 0; j < b1[i].size(); ++j) {
      ASSERT_NEAR(d[j], b1[i][j], rel_tol * std::max(1.0f, std::fabs(b1[i][j])))
          << "bottom[" << i << "] element " << j << " was not overwritten";
    }
  }
  bool has_learnable = false;
  for (const LayerParam& p : layer.params()) has_learnable = has_learnable || p.learnable;
  if (has_learnable) {
    EXPECT_TRUE(any_param_grad) << "all parameter gradients are zero: nothing was checked";
  }
}

void check_in_place_matches(const std::function<std::unique_ptr<Layer>()>& make,
                            const Shape& shape) {
  auto ref = make();
  LayerHarness h({shape}, 1, 21);
  ASSERT_TRUE(h.setup(*ref).ok());
  for (LayerParam& p : ref->params())
    std::fill(p.blob->diff(), p.blob->diff() + p.blob->count(), 0.0f);
  fill_gaussian(h.top()[0]->diff(), h.top()[0]->count(), 77);
  ref->forward(h.bottom(), h.top(), h.ctx());
  ref->backward(h.top(), {true}, h.bottom(), h.ctx());

  auto layer = make();
  Blob x("x");
  x.set_shape(shape);
  ASSERT_TRUE(layer->setup({&x}, {&x}).ok());
  ASSERT_TRUE(x.allocate(Device::cpu()).ok());
  std::copy(h.bottom()[0]->data(), h.bottom()[0]->data() + x.count(), x.data());
  // Parameters (PReLU, Bias) as the reference had them before its backward,
  // whose gradients both runs accumulate from 0.
  ASSERT_EQ(layer->params().size(), ref->params().size());
  for (size_t k = 0; k < layer->params().size(); ++k) {
    Blob& p = *layer->params()[k].blob;
    const Blob& q = *ref->params()[k].blob;
    ASSERT_TRUE(p.allocate(Device::cpu()).ok());
    std::copy(q.data(), q.data() + q.count(), p.data());
    std::fill(p.diff(), p.diff() + p.count(), 0.0f);
  }
  std::vector<float> workspace(std::max<size_t>(layer->workspace_floats(), 1), 0.0f);
  WorkerContext ctx(Device::cpu(), 21);
  ctx.set_workspace(workspace.data(), layer->workspace_floats());
  ASSERT_TRUE(layer->on_params_bound().ok());
  layer->forward({&x}, {&x}, ctx);
  fill_gaussian(x.diff(), x.count(), 77);
  layer->backward({&x}, {true}, {&x}, ctx);
  for (int64_t i = 0; i < x.count(); ++i) {
    EXPECT_EQ(x.data()[i], h.top()[0]->data()[i]) << i;
    EXPECT_EQ(x.diff()[i], h.bottom()[0]->diff()[i]) << i;
  }
  for (size_t k = 0; k < layer->params().size(); ++k) {
    const Blob& p = *layer->params()[k].blob;
    const Blob& q = *ref->params()[k].blob;
    for (int64_t i = 0; i < p.count(); ++i) EXPECT_EQ(p.diff()[i], q.diff()[i]) << "param " << k;
  }
}

}  // namespace banyan::testing
