// Every layer on the CPU's BF16 path (Layer::plan_bf16_shadows) against its
// float32 code: (1) exactly: fed the same BF16-representable inputs and
// weights, the BF16 tops equal the float32 tops rounded to nearest even,
// bottom gradients likewise, and parameter gradients accumulate the rounded
// increment (bit for bit: the BF16 path is "compute in FP32, round on every
// store"); (2) numerically: against float32 with unrounded weights, every
// output is within 8 units of BF16's roundoff (2^-8) of the tensor's
// largest magnitude: one rounding of the output and one of each weight,
// whose errors add over a dot product's terms (random signs: a few times
// the result's scale for these sizes).  Labels, losses and accuracies stay
// float32.  (3) On a GPU, the same BF16 path against the CPU's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/bf16.h"
#include "layers/registry.h"
#include "tests/common/gpu_skip.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::fill_gaussian;

struct Bf16Case {
  std::string label;
  LayerConfig config;
  std::vector<Shape> bottoms;
  int tops = 1;
  std::vector<int> label_bottoms;  // float32 bottoms holding class ids
  int classes = 0;
  bool in_place = false;  // top 0 is bottom 0
};

void PrintTo(const Bf16Case& c, std::ostream* os) { *os << c.label; }

LayerConfig base(const std::string& type) {
  LayerConfig c;
  c.name = "l";
  c.type = type;
  return c;
}

std::vector<Bf16Case> cases() {
  std::vector<Bf16Case> out;
  {
    LayerConfig c = base("Convolution");
    c.convolution.num_output = 6;
    c.convolution.kernel_h = c.convolution.kernel_w = 3;
    c.convolution.stride_h = 2;
    c.convolution.pad_h = c.convolution.pad_w = 1;
    c.convolution.group = 2;
    out.push_back({"conv_grouped", c, {Shape{2, 4, 7, 6}}});
  }
  {
    LayerConfig c = base("InnerProduct");
    c.inner_product.num_output = 5;
    out.push_back({"inner_product", c, {Shape{3, 2, 4, 5}}});
  }
  {
    LayerConfig c = base("Pooling");
    c.pooling.kernel_h = c.pooling.kernel_w = 3;
    c.pooling.stride_h = c.pooling.stride_w = 2;
    out.push_back({"pool_max", c, {Shape{2, 3, 7, 7}}});
    c.pooling.pool = PoolingConfig::Method::kAve;
    c.pooling.pad_h = c.pooling.pad_w = 1;
    out.push_back({"pool_ave", c, {Shape{2, 3, 6, 7}}});
  }
  {
    LayerConfig c = base("ReLU");
    out.push_back({"relu", c, {Shape{2, 3, 4, 5}}});
    c.relu.negative_slope = 0.1f;
    out.push_back({"relu_leaky_in_place", c, {Shape{2, 3, 4, 5}}, 1, {}, 0, true});
  }
  {
    LayerConfig c = base("LRN");
    c.lrn.local_size = 5;
    c.lrn.alpha = 1e-2f;
    out.push_back({"lrn", c, {Shape{2, 7, 3, 4}}});
  }
  {
    LayerConfig c = base("Dropout");
    c.dropout.dropout_ratio = 0.3f;
    out.push_back({"dropout_in_place", c, {Shape{4, 9}}, 1, {}, 0, true});
  }
  out.push_back({"softmax", base("Softmax"), {Shape{3, 6, 2}}});
  out.push_back({"softmax_loss", base("SoftmaxWithLoss"), {Shape{5, 7}, Shape{5}}, 1, {1}, 7});
  {
    LayerConfig c = base("Accuracy");
    c.accuracy.top_k = 2;
    out.push_back({"accuracy", c, {Shape{6, 5}, Shape{6}}, 1, {1}, 5});
  }
  out.push_back({"concat", base("Concat"), {Shape{2, 3, 4}, Shape{2, 5, 4}}});
  out.push_back({"split", base("Split"), {Shape{3, 4, 5}}, 2});
  out.push_back({"flatten", base("Flatten"), {Shape{2, 3, 4, 2}}});
  {
    LayerConfig c = base("Eltwise");
    c.eltwise.coeff = {0.5f, -2.0f};
    out.push_back({"eltwise_sum", c, {Shape{2, 3, 5}, Shape{2, 3, 5}}});
    c.eltwise.coeff.clear();
    c.eltwise.operation = EltwiseConfig::Op::kProd;
    out.push_back({"eltwise_prod", c, {Shape{2, 3, 5}, Shape{2, 3, 5}}});
    c.eltwise.operation = EltwiseConfig::Op::kMax;
    out.push_back({"eltwise_max", c, {Shape{2, 3, 5}, Shape{2, 3, 5}}});
  }
  {
    LayerConfig c = base("BatchNorm");
    c.batch_norm.use_global_stats = false;
    out.push_back({"batch_norm", c, {Shape{4, 3, 2, 3}}});
  }
  {
    LayerConfig c = base("Scale");
    c.scale.bias_term = true;
    out.push_back({"scale_bias", c, {Shape{2, 3, 4}}});
  }
  return out;
}

// One layer with its blobs on `device`: `bf16` makes the non-label bottoms
// bfloat16 and the tops what the layer says (Layer::top_dtype).
struct LayerRun {
  LayerRun(const Bf16Case& c, bool bf16, Device device = Device::cpu()) : ctx(device, 9) {
    EXPECT_TRUE(ctx.init_device().ok());
    EXPECT_TRUE(create_layer(c.config, &layer).ok());
    layer->set_device(device);
    for (size_t i = 0; i < c.bottoms.size(); ++i) {
      auto b = std::make_unique<Blob>("b" + std::to_string(i));
      b->set_shape(c.bottoms[i]);
      const bool is_label =
          std::find(c.label_bottoms.begin(), c.label_bottoms.end(), i) != c.label_bottoms.end();
      if (bf16 && !is_label) b->set_dtype(DType::kBFloat16);
      EXPECT_TRUE(b->allocate(device).ok());
      bottom.push_back(b.get());
      owned.push_back(std::move(b));
    }
    for (int t = 0; t < c.tops; ++t) {
      if (t == 0 && c.in_place) {
        top.push_back(bottom[0]);
        continue;
      }
      owned.push_back(std::make_unique<Blob>("t" + std::to_string(t)));
      top.push_back(owned.back().get());
    }
    Status s = layer->setup(bottom, top);
    EXPECT_TRUE(s.ok()) << s.message();
    for (int t = 0; t < c.tops; ++t) {
      if (t == 0 && c.in_place) continue;
      top[t]->set_dtype(layer->top_dtype(t, bottom, bf16 ? DType::kBFloat16 : DType::kFloat32));
      EXPECT_TRUE(top[t]->allocate(device).ok());
    }
    if (device.is_cuda()) EXPECT_TRUE(layer->prepare_device(ctx).ok());
    for (LayerParam& p : layer->params()) EXPECT_TRUE(p.blob->allocate(device).ok());
    EXPECT_TRUE(
        Buffer::allocate(device, std::max<size_t>(layer->workspace_floats(), 1) * 4, &workspace)
            .ok());
    ctx.set_workspace(static_cast<float*>(workspace.data()), layer->workspace_floats());
    ctx.step().phase = Phase::kTrain;
    ctx.step().iteration = 3;
    ctx.step().sample_base = 12;
    EXPECT_TRUE(layer->plan_bf16_shadows(bottom, top).ok());
    EXPECT_TRUE(
        Buffer::allocate(device, std::max<size_t>(layer->bf16_shadow_bytes(), 1), &arena).ok());
    layer->bind_bf16_shadows(arena.data());
  }

  WorkerContext ctx;
  std::unique_ptr<Layer> layer;
  std::vector<std::unique_ptr<Blob>> owned;
  std::vector<Blob*> bottom, top;
  Buffer workspace, arena;
};

// Values of a blob (data or diff) as floats.
std::vector<float> values(const Blob& b, bool diff) {
  std::vector<float> v;
  EXPECT_TRUE(blob_to_host(b, diff, &v).ok());
  return v;
}

// Writes floats into a blob (data or diff) of either type (BF16: rounded)
// on its device.
void store(const std::vector<float>& v, Blob* b, bool diff) {
  void* p = diff ? b->raw_diff() : b->raw_data();
  if (b->dtype() == DType::kFloat32) {
    ASSERT_TRUE(copy_to_device(v.data(), static_cast<int64_t>(v.size()), b->device(),
                               static_cast<float*>(p))
                    .ok());
  } else {
    std::vector<Bf16> bits(v.size());
    to_bf16(v.data(), static_cast<int64_t>(v.size()), bits.data());
    ASSERT_TRUE(copy_bytes_to_device(bits.data(), bits.size() * sizeof(Bf16), b->device(), p).ok());
  }
}

std::vector<float> rounded(std::vector<float> v) {
  round_bf16(v.data(), static_cast<int64_t>(v.size()));
  return v;
}

// Inputs, weights and top gradients of a case (BF16-representable unless
// raw_weights), written into `r`; forward, then backward from parameter
// gradients of `param_diff_start`.  `store_tops` rounds float32 tops after
// forward, as a BF16 store would (backward of Softmax and LRN reads them).
void run(const Bf16Case& c, LayerRun* r, bool raw_weights, float param_diff_start,
         bool store_tops = false) {
  for (size_t i = 0; i < r->bottom.size(); ++i) {
    if (i == 0 && c.in_place) {
      // Filled below like any bottom; the in-place top shares it.
    }
    std::vector<float> v(static_cast<size_t>(r->bottom[i]->count()));
    const bool is_label =
        std::find(c.label_bottoms.begin(), c.label_bottoms.end(), i) != c.label_bottoms.end();
    if (is_label) {
      for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<float>((j * 5 + 3) % c.classes);
    } else {
      fill_gaussian(v.data(), static_cast<int64_t>(v.size()), 41 + i);
      v = rounded(v);
    }
    store(v, r->bottom[i], false);
  }
  uint64_t k = 0;
  for (LayerParam& p : r->layer->params()) {
    std::vector<float> v(static_cast<size_t>(p.blob->count()));
    fill_gaussian(v.data(), p.blob->count(), 77 + k++, p.learnable ? 0.0f : 0.5f, 0.5f);
    if (!p.learnable) {
      for (float& x : v) x = std::fabs(x) + 0.5f;  // statistics, variances positive
    }
    if (!raw_weights) v = rounded(v);
    store(v, p.blob.get(), false);
    store(std::vector<float>(v.size(), param_diff_start), p.blob.get(), true);
  }
  ASSERT_TRUE(r->layer->on_params_bound().ok());
  r->layer->forward(r->bottom, r->top, r->ctx);
  if (store_tops) {
    for (size_t t = 0; t < r->top.size(); ++t) {
      LayerRun bf_types(c, true);  // which tops the BF16 net stores as bfloat16
      if (bf_types.top[t]->dtype() == DType::kBFloat16) {
        store(rounded(values(*r->top[t], false)), r->top[t], false);
      }
    }
  }
  for (size_t t = 0; t < r->top.size(); ++t) {
    std::vector<float> g(static_cast<size_t>(r->top[t]->count()));
    fill_gaussian(g.data(), static_cast<int64_t>(g.size()), 91 + t);
    store(rounded(g), r->top[t], true);
  }
  std::vector<bool> down(r->bottom.size(), true);
  for (int l : c.label_bottoms) down[l] = false;
  if (c.config.type == "Accuracy") return;  // no backward
  r->layer->backward(r->top, down, r->bottom, r->ctx);
}

class Bf16LayerTest : public ::testing::TestWithParam<Bf16Case> {};

TEST_P(Bf16LayerTest, EqualsFloat32RoundedAtEveryStore) {
  const Bf16Case& c = GetParam();
  LayerRun ref(c, false), bf(c, true);
  // The float32 reference starts its parameter gradients at 0 (the
  // increment) and stores its tops rounded, like the BF16 net.
  run(c, &ref, false, 0.0f, /*store_tops=*/true);
  run(c, &bf, false, 0.25f);
  for (size_t t = 0; t < ref.top.size(); ++t) {
    const std::vector<float> want = bf.top[t]->dtype() == DType::kBFloat16
                                        ? rounded(values(*ref.top[t], false))
                                        : values(*ref.top[t], false);
    ASSERT_EQ(values(*bf.top[t], false), want) << "top " << t;
    if (c.in_place && t == 0) continue;  // its diff is the bottom's, checked below
  }
  if (c.config.type == "Accuracy") {
    EXPECT_EQ(bf.top[0]->dtype(), DType::kFloat32);
    return;
  }
  for (size_t b = 0; b < ref.bottom.size(); ++b) {
    if (std::find(c.label_bottoms.begin(), c.label_bottoms.end(), b) != c.label_bottoms.end()) {
      EXPECT_EQ(bf.bottom[b]->dtype(), DType::kFloat32) << "labels stay float32";
      continue;
    }
    ASSERT_EQ(values(*bf.bottom[b], true), rounded(values(*ref.bottom[b], true))) << "bottom " << b;
  }
  for (size_t k = 0; k < ref.layer->params().size(); ++k) {
    const LayerParam& rp = ref.layer->params()[k];
    const LayerParam& bp = bf.layer->params()[k];
    std::vector<float> want = values(*rp.blob, true);
    for (float& w : want) w = 0.25f + (rp.learnable ? round_bf16(w) : w);
    ASSERT_EQ(values(*bp.blob, true), want) << "parameter " << k << " gradient";
    // Statistics (BatchNorm's) are updated in float32.
    ASSERT_EQ(values(*bp.blob, false), values(*rp.blob, false)) << "parameter " << k;
  }
  if (c.config.type == "SoftmaxWithLoss") EXPECT_EQ(bf.top[0]->dtype(), DType::kFloat32);
}

// |got - want| <= 8 units of BF16's roundoff of want's largest magnitude.
void expect_within_bf16(const std::vector<float>& want, const std::vector<float>& got,
                        const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  float scale = 0.0f;
  for (float w : want) scale = std::max(scale, std::fabs(w));
  const double tol = 8.0 * kBf16Roundoff * scale;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), tol)
        << what << "[" << i << "]: " << got[i] << " vs " << want[i] << " (scale " << scale << ")";
  }
}

// Every output of `a` against `b`'s (tops, bottom and parameter gradients).
void expect_runs_agree(const Bf16Case& c, const LayerRun& want, const LayerRun& got) {
  for (size_t t = 0; t < want.top.size(); ++t) {
    expect_within_bf16(values(*want.top[t], false), values(*got.top[t], false),
                       "top " + std::to_string(t));
  }
  if (c.config.type == "Accuracy") return;
  for (size_t b = 0; b < want.bottom.size(); ++b) {
    if (std::find(c.label_bottoms.begin(), c.label_bottoms.end(), b) != c.label_bottoms.end()) {
      continue;
    }
    expect_within_bf16(values(*want.bottom[b], true), values(*got.bottom[b], true),
                       "bottom diff " + std::to_string(b));
  }
  for (size_t k = 0; k < want.layer->params().size(); ++k) {
    if (!want.layer->params()[k].learnable) continue;
    expect_within_bf16(values(*want.layer->params()[k].blob, true),
                       values(*got.layer->params()[k].blob, true),
                       "parameter diff " + std::to_string(k));
  }
}

// Within 8 units of 2^-8 of each tensor's scale of float32 with unrounded
// weights (the inputs, already BF16 in a BF16 net, are the same).
TEST_P(Bf16LayerTest, WithinBf16RoundoffOfFloat32) {
  const Bf16Case& c = GetParam();
  LayerRun ref(c, false), bf(c, true);
  run(c, &ref, true, 0.0f);
  run(c, &bf, false, 0.0f);
  expect_runs_agree(c, ref, bf);
}

// The GPU's BF16 path against the CPU's (like with like: the same rounding
// points; the float32 arithmetic in between may differ in its last bits,
// which can move a rounding by one BF16 step).  Skips without a GPU.
TEST_P(Bf16LayerTest, GpuMatchesCpuBf16) {
  BANYAN_SKIP_WITHOUT_GPU();
  const Bf16Case& c = GetParam();
  LayerRun cpu(c, true), gpu(c, true, Device::cuda(0));
  run(c, &cpu, false, 0.25f);
  run(c, &gpu, false, 0.25f);
  expect_runs_agree(c, cpu, gpu);
}

INSTANTIATE_TEST_SUITE_P(Layers, Bf16LayerTest, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Bf16Case>& p) { return p.param.label; });

}  // namespace
}  // namespace banyan
