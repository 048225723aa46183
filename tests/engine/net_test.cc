// Tests of Net construction: phase filter, Split insertion, in-place layers,
// backward analysis, contiguous parameters, sharing, and a whole-net
// finite-difference gradient check.
#include "engine/net.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/config/loader.h"
#include "engine/core/random.h"

namespace banyan {
namespace {

// Input (4,3,6,6) + labels -> conv -> relu (in place) -> {pool -> ip1, ip2 on
// conv output directly} -> eltwise sum -> loss; conv output feeds two layers.
const char* kNet = R"(
name: "tiny"
layer { name: "in" type: "Input" top: "data" top: "label"
        input_param { shape { dim: 4 dim: 3 dim: 6 dim: 6 } shape { dim: 4 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1
                            weight_filler { type: "gaussian" std: 0.3 }
                            bias_filler { type: "constant" value: 0.1 } } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool"
        pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
layer { name: "ip1" type: "InnerProduct" bottom: "pool" top: "ip1"
        inner_product_param { num_output: 5 weight_filler { type: "xavier" } } }
layer { name: "ip2" type: "InnerProduct" bottom: "conv" top: "ip2"
        inner_product_param { num_output: 5 weight_filler { type: "msra" } } }
layer { name: "sum" type: "Eltwise" bottom: "ip1" bottom: "ip2" top: "sum" }
layer { name: "acc" type: "Accuracy" bottom: "sum" bottom: "label" top: "acc"
        include { phase: TEST } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "sum" bottom: "label" top: "loss" }
)";

NetConfig parse(const std::string& text) {
  NetConfig c;
  Status s = parse_net_config(text, "test.prototxt", &c);
  EXPECT_TRUE(s.ok()) << s.message();
  return c;
}

void fill_inputs(Net& net) {
  Blob* data = net.blob("data");
  Blob* label = net.blob("label");
  uint64_t key = key_for(3, "inputs");
  for (int64_t i = 0; i < data->count(); ++i) data->data()[i] = normal_at(key, 0, i);
  for (int64_t i = 0; i < label->count(); ++i) label->data()[i] = static_cast<float>(i % 5);
}

TEST(NetTest, InsertsSplitAndFiltersPhase) {
  WorkerContext ctx(Device::cpu(), 1);
  std::unique_ptr<Net> net;
  NetBuildOptions train;
  train.phase = Phase::kTrain;
  ASSERT_TRUE(Net::create(parse(kNet), train, &ctx, &net).ok());
  int splits = 0;
  for (int i = 0; i < net->num_layers(); ++i) {
    EXPECT_NE(net->layer(i).name(), "acc");
    if (net->layer(i).type() == "Split") {
      ++splits;
      EXPECT_EQ(net->layer(i).config().top.size(), 2u);
      EXPECT_EQ(net->layer(i - 1).name(), "relu");  // after the last writer of "conv"
    }
  }
  EXPECT_EQ(splits, 1);
  ASSERT_EQ(net->outputs().size(), 1u);
  EXPECT_EQ(net->outputs()[0].name, "loss");
  EXPECT_FLOAT_EQ(net->outputs()[0].loss_weight, 1.0f);
  EXPECT_EQ(net->batch_size(), 4);

  std::unique_ptr<Net> test_net;
  NetBuildOptions test;
  test.phase = Phase::kTest;
  test.share_params_from = net.get();
  ASSERT_TRUE(Net::create(parse(kNet), test, &ctx, &test_net).ok());
  EXPECT_EQ(test_net->outputs().size(), 2u);
  EXPECT_EQ(test_net->param_data(), net->param_data());  // shared, not copied
  EXPECT_EQ(test_net->blob("conv")->shape(), (Shape{4, 4, 6, 6}));
}

TEST(NetTest, ParametersAreContiguousAndDeterministic) {
  WorkerContext ctx(Device::cpu(), 7);
  std::unique_ptr<Net> a, b;
  ASSERT_TRUE(Net::create(parse(kNet), {}, &ctx, &a).ok());
  ASSERT_TRUE(Net::create(parse(kNet), {}, &ctx, &b).ok());
  ASSERT_EQ(a->params().size(), 6u);  // conv W,b; ip1 W,b; ip2 W,b
  int64_t expected_offset = 0;
  for (const NetParam& p : a->params()) {
    EXPECT_EQ(p.offset, expected_offset) << p.name;
    EXPECT_EQ(p.blob->data(), a->param_data() + p.offset);
    EXPECT_EQ(p.blob->diff(), a->param_diff() + p.offset);
    expected_offset += (p.blob->count() + 15) / 16 * 16;
  }
  EXPECT_EQ(a->param_count(), expected_offset);
  for (int64_t i = 0; i < a->param_count(); ++i) ASSERT_EQ(a->param_data()[i], b->param_data()[i]);
  EXPECT_FLOAT_EQ(a->find_param("conv/1")->blob->data()[0], 0.1f);
  WorkerContext other_seed(Device::cpu(), 8);
  std::unique_ptr<Net> c;
  ASSERT_TRUE(Net::create(parse(kNet), {}, &other_seed, &c).ok());
  EXPECT_NE(a->find_param("conv/0")->blob->data()[0], c->find_param("conv/0")->blob->data()[0]);
}

// d(loss)/d(param) by central differences over the whole net, through the
// Split (gradients of both branches must be summed) and the in-place ReLU.
// Central differences of net.forward() against the analytic parameter
// gradients, every `stride`-th weight; returns how many were compared.
// Parameters of layer `frozen` must have gradient 0 instead.
int expect_gradients_match(Net& net, int stride = 3, const std::string& frozen = "") {
  net.clear_param_diffs();
  net.forward();
  net.backward();
  std::vector<float> analytic(net.param_diff(), net.param_diff() + net.param_count());
  const float h = 2e-3f;
  int checked = 0;
  for (const NetParam& p : net.params()) {
    if (p.layer == frozen) {
      for (int64_t j = 0; j < p.blob->count(); ++j) EXPECT_EQ(analytic[p.offset + j], 0.0f);
      continue;
    }
    for (int64_t j = 0; j < p.blob->count(); j += stride) {
      float* w = p.blob->data() + j;
      const float orig = *w;
      *w = orig + h;
      double plus = net.forward();
      *w = orig - h;
      double minus = net.forward();
      *w = orig;
      double numeric = (plus - minus) / (2 * h);
      double a = analytic[p.offset + j];
      EXPECT_NEAR(a, numeric, 2e-2 * std::max({1.0, std::fabs(a), std::fabs(numeric)}))
          << p.name << "[" << j << "]";
      ++checked;
    }
  }
  return checked;
}

TEST(NetTest, WholeNetGradientMatchesFiniteDifferences) {
  WorkerContext ctx(Device::cpu(), 5);
  std::unique_ptr<Net> net;
  ASSERT_TRUE(Net::create(parse(kNet), {}, &ctx, &net).ok());
  fill_inputs(*net);
  EXPECT_GT(expect_gradients_match(*net), 50);
}

// loss_weight on any top, as in Caffe: on a hidden ReLU output that the next
// layer also reads (its Split gets a loss-carrying top, so both gradients
// reach ip1), and a weight other than 1 on the loss layer.  propagate_down:
// false on one bottom of the Eltwise leaves ip_b without gradients.
TEST(NetTest, LossWeightOnAnyTopAndPropagateDown) {
  const char* text = R"(
layer { name: "in" type: "Input" top: "x" top: "target"
        input_param { shape { dim: 3 dim: 4 } shape { dim: 3 dim: 5 } } }
layer { name: "ip1" type: "InnerProduct" bottom: "x" top: "h"
        inner_product_param { num_output: 6 weight_filler { type: "gaussian" std: 0.5 }
                              bias_filler { type: "constant" value: 0.2 } } }
layer { name: "relu" type: "ReLU" bottom: "h" top: "r" loss_weight: 0.3 }
layer { name: "ip_a" type: "InnerProduct" bottom: "r" top: "a"
        inner_product_param { num_output: 5 weight_filler { type: "gaussian" std: 0.5 } } }
layer { name: "ip_b" type: "InnerProduct" bottom: "x" top: "b"
        inner_product_param { num_output: 5 weight_filler { type: "gaussian" std: 0.5 } } }
layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "y"
        propagate_down: true propagate_down: false }
layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "target" top: "l2"
        loss_weight: 2 }
)";
  WorkerContext ctx(Device::cpu(), 5);
  std::unique_ptr<Net> net;
  Status s = Net::create(parse(text), {}, &ctx, &net);
  ASSERT_TRUE(s.ok()) << s.message();
  const uint64_t key = key_for(9, "inputs");
  for (const char* name : {"x", "target"}) {
    Blob* b = net->blob(name);
    for (int64_t i = 0; i < b->count(); ++i) b->data()[i] = normal_at(key, name[0], i);
  }
  // The ReLU output is read by ip_a and carries 0.3: a Split with two tops.
  bool split = false;
  for (int i = 0; i < net->num_layers(); ++i) {
    if (net->layer(i).type() == "Split" && net->layer(i).config().bottom[0] == "r") {
      split = true;
      EXPECT_EQ(net->layer(i).config().top.size(), 2u);
    }
  }
  EXPECT_TRUE(split);
  ASSERT_EQ(net->outputs().size(), 2u);
  float weights = 0.0f;
  for (const NetOutput& o : net->outputs()) weights += o.loss_weight;
  EXPECT_FLOAT_EQ(weights, 2.3f);
  // ip_b gets no gradient (propagate_down false); the others match.
  EXPECT_GT(expect_gradients_match(*net, 1, "ip_b"), 50);
}

// Deferred losses: each slot keeps its pass's loss until read, whatever ran
// since; forward() is the same number.  The input and the label carry no
// diff (nothing backpropagates into them), the learnt layers' tops do.
TEST(NetTest, DeferredLossSlotsAndPlannedDiffs) {
  WorkerContext ctx(Device::cpu(), 5);
  std::unique_ptr<Net> net;
  ASSERT_TRUE(Net::create(parse(kNet), {}, &ctx, &net).ok());
  fill_inputs(*net);
  const float first = net->forward();
  net->forward_deferred(3);
  float* w = net->params()[0].blob->data();
  *w += 0.5f;  // another loss in another slot
  net->forward_deferred(7);
  const float second = net->forward();
  EXPECT_NE(first, second);
  EXPECT_EQ(net->deferred_loss(3), first);
  EXPECT_EQ(net->deferred_loss(7), second);
  EXPECT_EQ(net->blob("data")->diff(), nullptr);
  EXPECT_EQ(net->blob("label")->diff(), nullptr);
  EXPECT_NE(net->blob("loss")->diff(), nullptr);
}

TEST(NetTest, SkipsBackwardWhereNothingLearns) {
  const char* text = R"(
layer { name: "in" type: "Input" top: "x" top: "label"
        input_param { shape { dim: 2 dim: 3 } shape { dim: 2 } } }
layer { name: "relu" type: "ReLU" bottom: "x" top: "r" }
layer { name: "ip" type: "InnerProduct" bottom: "r" top: "ip"
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 1 } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
)";
  WorkerContext ctx(Device::cpu(), 1);
  std::unique_ptr<Net> net;
  ASSERT_TRUE(Net::create(parse(text), {}, &ctx, &net).ok());
  EXPECT_FALSE(net->layer_needs_backward(0));  // input
  EXPECT_FALSE(net->layer_needs_backward(1));  // relu: below it nothing learns
  EXPECT_TRUE(net->layer_needs_backward(2));
  EXPECT_TRUE(net->layer_needs_backward(3));
}

struct BadNet {
  const char* text;
  const char* expect;
};

TEST(NetTest, GraphErrorsNameLayerAndBlob) {
  const BadNet cases[] = {
      {R"(layer { name: "ip" type: "InnerProduct" bottom: "nope" top: "ip"
                  inner_product_param { num_output: 2 } })",
       "bottom 'nope'"},
      {R"(layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
          layer { name: "ip" type: "InnerProduct" bottom: "x" top: "x"
                  inner_product_param { num_output: 3 } })",
       "cannot run in place"},
      {R"(layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
          layer { name: "a" type: "ReLU" bottom: "x" top: "y" }
          layer { name: "b" type: "ReLU" bottom: "x" top: "y" })",
       "already produced by layer 'a'"},
      // A layer naming one top twice (found by the net_setup fuzzer: the
      // message read the producer before it was in the graph).
      {R"(layer { name: "in" type: "Input" top: "x" top: "x"
                  input_param { shape { dim: 2 dim: 3 } shape { dim: 2 dim: 3 } } })",
       "top 'x' is listed twice"},
      {R"(layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
          layer { name: "m" type: "Mystery" bottom: "x" top: "y" })",
       "unknown type 'Mystery'"},
      {R"(layer { name: "in" type: "Input" top: "x" include { phase: TEST }
                  input_param { shape { dim: 2 dim: 3 } } })",
       "no layers in phase TRAIN"},
  };
  for (const BadNet& c : cases) {
    NetConfig config;
    Status ps = parse_net_config(c.text, "bad.prototxt", &config);
    ASSERT_TRUE(ps.ok()) << ps.message();
    WorkerContext ctx(Device::cpu(), 1);
    std::unique_ptr<Net> net;
    Status s = Net::create(config, {}, &ctx, &net);
    ASSERT_FALSE(s.ok()) << c.expect;
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("bad.prototxt"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace banyan
