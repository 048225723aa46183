// HingeLoss, InfogainLoss, MultinomialLogisticLoss, ContrastiveLoss, PReLU,
// Bias, Embed and MVN on the GPU against the CPU on random inputs (labels and
// indices written as valid ids); parameter gradients must accumulate like
// the CPU's.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"
#include "tests/common/layer_test_util.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;
using banyan::testing::fill_uniform;
using banyan::testing::GpuCompareOptions;

LayerConfig config(const std::string& type) {
  LayerConfig c;
  c.name = "layer";
  c.type = type;
  return c;
}

std::unique_ptr<Layer> make(const LayerConfig& c) {
  std::unique_ptr<Layer> layer;
  EXPECT_TRUE(create_layer(c, &layer).ok()) << c.type;
  return layer;
}

// Writes class ids in [0, classes) (and `ignore` at every fourth when >= 0).
void write_ids(Blob* b, int64_t classes, int ignore = -1) {
  for (int64_t i = 0; i < b->count(); ++i) {
    b->data()[i] = ignore >= 0 && i % 4 == 3 ? float(ignore) : float((i * 7 + 3) % classes);
  }
}

TEST(GpuLossParamLayersTest, HingeAndMultinomialLogisticLossMatchCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (auto norm : {HingeLossConfig::Norm::kL1, HingeLossConfig::Norm::kL2}) {
    LayerConfig c = config("HingeLoss");
    c.hinge_loss.norm = norm;
    GpuCompareOptions o;
    o.propagate_down = {true, false};
    o.prepare_bottoms = [](const std::vector<Blob*>& b) { write_ids(b[1], 12); };
    compare_gpu_to_cpu([&] { return make(c); }, {Shape{37, 3, 2, 2}, Shape{37}}, 1, o);
  }
  GpuCompareOptions o;
  o.propagate_down = {true, false};
  o.prepare_bottoms = [](const std::vector<Blob*>& b) {
    fill_uniform(b[0]->data(), b[0]->count(), 3, 0.01f, 1.0f);
    write_ids(b[1], 10);
  };
  compare_gpu_to_cpu([] { return make(config("MultinomialLogisticLoss")); },
                     {Shape{300, 10}, Shape{300, 1}}, 1, o);
}

TEST(GpuLossParamLayersTest, InfogainLossMatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  struct Mode {
    LossConfig::Normalization norm;
    int ignore;
  };
  for (const Mode& m :
       {Mode{LossConfig::Normalization::kValid, 2}, Mode{LossConfig::Normalization::kValid, -1},
        Mode{LossConfig::Normalization::kBatchSize, 1}}) {
    LayerConfig c = config("InfogainLoss");
    c.loss.normalization = m.norm;
    if (m.ignore >= 0) c.loss.ignore_label = m.ignore;
    GpuCompareOptions o;
    o.propagate_down = {true, false, false};
    o.prepare_bottoms = [&](const std::vector<Blob*>& b) {
      write_ids(b[1], 5, m.ignore);
      fill_uniform(b[2]->data(), b[2]->count(), 9, 0.0f, 1.0f);
    };
    compare_gpu_to_cpu([&] { return make(c); }, {Shape{6, 5, 3, 4}, Shape{6, 3, 4}, Shape{5, 5}}, 2,
                       o);
  }
}

TEST(GpuLossParamLayersTest, ContrastiveLossMatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (bool legacy : {false, true}) {
    LayerConfig c = config("ContrastiveLoss");
    c.contrastive_loss.legacy_version = legacy;
    c.contrastive_loss.margin = legacy ? 10.0f : 3.0f;
    GpuCompareOptions o;
    o.propagate_down = {true, true, false};
    o.prepare_bottoms = [](const std::vector<Blob*>& b) { write_ids(b[2], 2); };
    compare_gpu_to_cpu([&] { return make(c); }, {Shape{50, 4}, Shape{50, 4}, Shape{50}}, 1, o);
  }
}

TEST(GpuLossParamLayersTest, PReluBiasAndMvnMatchCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (bool shared : {false, true}) {
    LayerConfig c = config("PReLU");
    c.prelu.channel_shared = shared;
    compare_gpu_to_cpu([&] { return make(c); }, {Shape{8, 6, 17, 19}}, 1);
  }
  for (int num_axes : {1, 2, 0, -1}) {
    LayerConfig c = config("Bias");
    c.bias.num_axes = num_axes;
    compare_gpu_to_cpu([&] { return make(c); }, {Shape{4, 5, 6, 7}}, 1);
  }
  compare_gpu_to_cpu([] { return make(config("Bias")); }, {Shape{4, 5, 6, 7}, Shape{5, 6}}, 1);
  for (bool variance : {true, false}) {
    for (bool across : {false, true}) {
      LayerConfig c = config("MVN");
      c.mvn.normalize_variance = variance;
      c.mvn.across_channels = across;
      compare_gpu_to_cpu([&] { return make(c); }, {Shape{3, 4, 9, 11}}, 1);
    }
  }
}

TEST(GpuLossParamLayersTest, EmbedMatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (bool bias : {true, false}) {
    LayerConfig c = config("Embed");
    c.embed.num_output = 33;
    c.embed.input_dim = 20;
    c.embed.bias_term = bias;
    GpuCompareOptions o;
    o.propagate_down = {false};
    o.prepare_bottoms = [](const std::vector<Blob*>& b) { write_ids(b[0], 20); };
    compare_gpu_to_cpu([&] { return make(c); }, {Shape{7, 9}}, 1, o);
  }
}

}  // namespace
}  // namespace banyan
