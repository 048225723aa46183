// Net configs: every layer type and spelling in tests/fixtures/config, the
// legacy net-level inputs, the phase filter built from include/exclude rules,
// and the defaults the loader resolves.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/config/loader.h"

namespace banyan {
namespace {

const std::string kConfig = std::string(BANYAN_FIXTURES_DIR) + "/config/";

NetConfig must_load(const std::string& path) {
  NetConfig net;
  Status s = load_net_config(path, &net);
  EXPECT_TRUE(s.ok()) << s.message();
  return net;
}

NetConfig must_parse(const std::string& text) {
  NetConfig net;
  Status s = parse_net_config(text, "inline.prototxt", &net);
  EXPECT_TRUE(s.ok()) << s.message();
  return net;
}

const LayerConfig& find(const NetConfig& net, const std::string& name, Phase phase) {
  for (const LayerConfig& l : net.layers) {
    if (l.name == name && l.in_phase(phase)) return l;
  }
  ADD_FAILURE() << "no layer '" << name << "' in phase " << phase_name(phase);
  static const LayerConfig kNone;
  return kNone;
}

TEST(NetLoaderTest, DataAndTransform) {
  const NetConfig net = must_load(kConfig + "all_layers.prototxt");
  EXPECT_EQ(net.name, "AllLayers");
  const LayerConfig& train = find(net, "data", Phase::kTrain);
  EXPECT_EQ(train.top, (std::vector<std::string>{"data", "label"}));
  EXPECT_EQ(train.data.source, "train_lmdb");
  EXPECT_EQ(train.data.batch_size, 32);
  EXPECT_EQ(train.data.rand_skip, 7);
  EXPECT_FLOAT_EQ(train.transform.scale, 0.5f);
  EXPECT_TRUE(train.transform.mirror);
  EXPECT_EQ(train.transform.crop_size, 24);
  EXPECT_EQ(train.transform.mean_value, (std::vector<float>{104, 117, 123}));
  EXPECT_TRUE(train.transform.force_color);
  EXPECT_FALSE(train.transform.force_gray);
  const LayerConfig& test = find(net, "data", Phase::kTest);
  EXPECT_EQ(test.transform.mean_file, "mean.binaryproto");
  EXPECT_FALSE(test.transform.mirror);
  EXPECT_EQ(test.data.batch_size, 10);
}

TEST(NetLoaderTest, InputPipelineSettings) {
  const NetConfig all = must_load(kConfig + "all_layers.prototxt");
  const LayerConfig& defaults = find(all, "data", Phase::kTrain);
  EXPECT_EQ(defaults.data.prefetch, 4);
  EXPECT_EQ(defaults.data.decode_threads, 0);
  EXPECT_FALSE(defaults.data.bad_record_fatal);
  const NetConfig net = must_load(kConfig + "data_pipeline.prototxt");
  ASSERT_EQ(net.layers.size(), 1u);
  EXPECT_EQ(net.layers[0].data.prefetch, 2);
  EXPECT_EQ(net.layers[0].data.decode_threads, 3);
  EXPECT_TRUE(net.layers[0].data.bad_record_fatal);
}

TEST(NetLoaderTest, ConvolutionSpellings) {
  const NetConfig net = must_load(kConfig + "all_layers.prototxt");
  // Two values: (h, w); one stride value: both axes.
  const ConvolutionConfig& c1 = find(net, "conv1", Phase::kTrain).convolution;
  EXPECT_EQ(c1.kernel_h, 5);
  EXPECT_EQ(c1.kernel_w, 3);
  EXPECT_EQ(c1.pad_h, 2);
  EXPECT_EQ(c1.pad_w, 1);
  EXPECT_EQ(c1.stride_h, 2);
  EXPECT_EQ(c1.stride_w, 2);
  EXPECT_EQ(c1.dilation_h, 1);
  EXPECT_EQ(c1.dilation_w, 2);
  EXPECT_TRUE(c1.bias_term);
  EXPECT_EQ(c1.weight_filler.type, "gaussian");
  EXPECT_FLOAT_EQ(c1.weight_filler.mean, 0.5f);
  EXPECT_FLOAT_EQ(c1.weight_filler.std, 0.01f);
  EXPECT_FLOAT_EQ(c1.bias_filler.value, 0.2f);
  // *_h/*_w spellings; pad_h alone leaves pad_w at 0.
  const LayerConfig& conv2 = find(net, "conv2", Phase::kTrain);
  const ConvolutionConfig& c2 = conv2.convolution;
  EXPECT_EQ(c2.kernel_h, 3);
  EXPECT_EQ(c2.kernel_w, 1);
  EXPECT_EQ(c2.pad_h, 1);
  EXPECT_EQ(c2.pad_w, 0);
  EXPECT_EQ(c2.stride_h, 1);
  EXPECT_EQ(c2.stride_w, 2);
  EXPECT_EQ(c2.dilation_h, 1);
  EXPECT_EQ(c2.group, 4);
  EXPECT_EQ(c2.num_output, 12);
  EXPECT_FALSE(c2.bias_term);
  EXPECT_EQ(c2.weight_filler.type, "msra");
  EXPECT_EQ(c2.weight_filler.variance_norm, FillerConfig::VarianceNorm::kFanOut);
  EXPECT_EQ(conv2.partition, 1);
  EXPECT_EQ(find(net, "conv1", Phase::kTrain).partition, 0);
}

TEST(NetLoaderTest, PoolingLrnAndActivations) {
  const NetConfig net = must_load(kConfig + "all_layers.prototxt");
  const PoolingConfig& p = find(net, "pool2", Phase::kTrain).pooling;
  EXPECT_EQ(p.pool, PoolingConfig::Method::kAve);
  EXPECT_EQ(p.kernel_h, 3);
  EXPECT_EQ(p.kernel_w, 2);
  EXPECT_EQ(p.stride_h, 2);
  EXPECT_EQ(p.stride_w, 1);
  EXPECT_EQ(p.pad_h, 1);
  EXPECT_EQ(p.pad_w, 1);
  EXPECT_EQ(p.round_mode, PoolingConfig::RoundMode::kFloor);
  EXPECT_FALSE(p.global_pooling);
  const PoolingConfig& g = find(net, "gpool", Phase::kTrain).pooling;
  EXPECT_TRUE(g.global_pooling);
  EXPECT_EQ(g.round_mode, PoolingConfig::RoundMode::kCeil);

  const LrnConfig& lrn = find(net, "norm2", Phase::kTrain).lrn;
  EXPECT_EQ(lrn.local_size, 3);
  EXPECT_FLOAT_EQ(lrn.alpha, 0.0002f);
  EXPECT_FLOAT_EQ(lrn.beta, 0.5f);
  EXPECT_FLOAT_EQ(lrn.k, 2.0f);
  EXPECT_FLOAT_EQ(find(net, "relu2", Phase::kTrain).relu.negative_slope, 0.1f);
  EXPECT_FLOAT_EQ(find(net, "drop1", Phase::kTrain).dropout.dropout_ratio, 0.25f);

  const BatchNormConfig& bn = find(net, "bn2", Phase::kTrain).batch_norm;
  ASSERT_TRUE(bn.use_global_stats.has_value());
  EXPECT_FALSE(*bn.use_global_stats);
  EXPECT_FLOAT_EQ(bn.moving_average_fraction, 0.9f);
  EXPECT_FLOAT_EQ(bn.eps, 0.001f);
}

TEST(NetLoaderTest, ScaleFillerDefaultsToOne) {
  const NetConfig net = must_load(kConfig + "all_layers.prototxt");
  const ScaleConfig& sc = find(net, "scale2", Phase::kTrain).scale;
  EXPECT_TRUE(sc.bias_term);
  EXPECT_EQ(sc.filler.type, "constant");
  EXPECT_FLOAT_EQ(sc.filler.value, 1.0f);
  EXPECT_FLOAT_EQ(sc.bias_filler.value, 0.0f);
  // A written filler wins over the default.
  const NetConfig other = must_parse(
      "layer { name: 's' type: 'Scale' bottom: 'x' top: 'y'\n"
      "        scale_param { filler { type: 'constant' value: 3 } num_axes: 2 } }\n");
  EXPECT_FLOAT_EQ(other.layers[0].scale.filler.value, 3.0f);
  EXPECT_EQ(other.layers[0].scale.num_axes, 2);
}

TEST(NetLoaderTest, InnerProductConcatEltwiseAndLoss) {
  const NetConfig net = must_load(kConfig + "all_layers.prototxt");
  const InnerProductConfig& ip = find(net, "ip1", Phase::kTrain).inner_product;
  EXPECT_EQ(ip.num_output, 20);
  EXPECT_TRUE(ip.transpose);
  EXPECT_EQ(ip.weight_filler.type, "xavier");
  EXPECT_EQ(ip.weight_filler.variance_norm, FillerConfig::VarianceNorm::kAverage);
  EXPECT_EQ(ip.bias_filler.type, "uniform");
  EXPECT_FLOAT_EQ(ip.bias_filler.min, -0.5f);
  EXPECT_FLOAT_EQ(ip.bias_filler.max, 0.5f);
  EXPECT_EQ(find(net, "cat", Phase::kTrain).concat.axis, 1);
  EXPECT_EQ(find(net, "flat", Phase::kTrain).flatten.end_axis, 3);
  EXPECT_EQ(find(net, "gflat", Phase::kTrain).flatten.end_axis, -1);

  const EltwiseConfig& e = find(net, "sum", Phase::kTrain).eltwise;
  EXPECT_EQ(e.operation, EltwiseConfig::Op::kSum);
  EXPECT_EQ(e.coeff, (std::vector<float>{1.0f, -0.5f}));

  const LayerConfig& acc = find(net, "accuracy", Phase::kTest);
  EXPECT_EQ(acc.accuracy.top_k, 5);
  EXPECT_EQ(acc.accuracy.ignore_label, -1);

  const LayerConfig& loss = find(net, "loss", Phase::kTrain);
  EXPECT_EQ(loss.loss_weight, (std::vector<float>{2.0f}));
  EXPECT_EQ(loss.propagate_down, (std::vector<bool>{true, false}));
  EXPECT_EQ(loss.loss.ignore_label, 255);
  // Legacy `normalize: false` means BATCH_SIZE.
  EXPECT_EQ(loss.loss.normalization, LossConfig::Normalization::kBatchSize);
}

TEST(NetLoaderTest, PhaseFilterFromRules) {
  const NetConfig net = must_load(kConfig + "all_layers.prototxt");
  int train = 0, test = 0;
  for (const LayerConfig& l : net.layers) {
    train += l.in_phase(Phase::kTrain);
    test += l.in_phase(Phase::kTest);
  }
  const int total = static_cast<int>(net.layers.size());
  // TRAIN lacks the TEST data layer, `prob` (excluded) and `accuracy`.
  EXPECT_EQ(train, total - 3);
  // TEST lacks the TRAIN data layer.
  EXPECT_EQ(test, total - 1);
  const LayerConfig& prob = find(net, "prob", Phase::kTest);
  EXPECT_TRUE(prob.include.empty());
  ASSERT_EQ(prob.exclude.size(), 1u);
  EXPECT_EQ(prob.exclude[0].phase, Phase::kTrain);
}

TEST(NetLoaderTest, RuleWithoutPhaseMatchesEveryPhase) {
  const NetConfig net = must_parse(
      "layer { name: 'a' type: 'ReLU' bottom: 'x' top: 'x' include { } }\n"
      "layer { name: 'b' type: 'ReLU' bottom: 'x' top: 'x' exclude { } }\n"
      "layer { name: 'c' type: 'ReLU' bottom: 'x' top: 'x'\n"
      "        include { phase: TEST } include { phase: TRAIN } }\n");
  ASSERT_EQ(net.layers.size(), 3u);
  EXPECT_TRUE(net.layers[0].in_phase(Phase::kTrain));
  EXPECT_TRUE(net.layers[0].in_phase(Phase::kTest));
  EXPECT_FALSE(net.layers[1].in_phase(Phase::kTrain));
  EXPECT_FALSE(net.layers[1].in_phase(Phase::kTest));
  EXPECT_TRUE(net.layers[2].in_phase(Phase::kTrain));
  EXPECT_TRUE(net.layers[2].in_phase(Phase::kTest));
}

TEST(NetLoaderTest, LegacyInputDimBecomesInputLayers) {
  const NetConfig net = must_load(kConfig + "legacy_input_dim.prototxt");
  ASSERT_EQ(net.layers.size(), 3u);
  const LayerConfig& data = net.layers[0];
  EXPECT_EQ(data.name, "data");
  EXPECT_EQ(data.type, "Input");
  EXPECT_EQ(data.top, (std::vector<std::string>{"data"}));
  ASSERT_EQ(data.input.shapes.size(), 1u);
  EXPECT_EQ(data.input.shapes[0], (Shape{2, 3, 8, 6}));
  EXPECT_EQ(data.location.line, 3);
  const LayerConfig& aux = net.layers[1];
  EXPECT_EQ(aux.name, "aux");
  EXPECT_EQ(aux.input.shapes[0], (Shape{2, 1, 4, 5}));
  EXPECT_EQ(aux.location.line, 8);
  EXPECT_EQ(net.layers[2].name, "ip");
}

TEST(NetLoaderTest, LegacyInputShapeBecomesInputLayers) {
  const NetConfig net = must_load(kConfig + "legacy_input_shape.prototxt");
  ASSERT_EQ(net.layers.size(), 3u);
  EXPECT_EQ(net.layers[0].type, "Input");
  EXPECT_EQ(net.layers[0].input.shapes[0], (Shape{4, 3, 16, 16}));
  EXPECT_EQ(net.layers[1].name, "label");
  EXPECT_EQ(net.layers[1].input.shapes[0], (Shape{4}));
  EXPECT_EQ(net.layers[2].type, "InnerProduct");
}

TEST(NetLoaderTest, InputLayerWithOneShapeForSeveralTops) {
  const NetConfig net = must_parse(
      "layer { name: 'in' type: 'Input' top: 'a' top: 'b'\n"
      "        input_param { shape { dim: 7 dim: 2 } } }\n");
  ASSERT_EQ(net.layers[0].input.shapes.size(), 2u);
  EXPECT_EQ(net.layers[0].input.shapes[1], (Shape{7, 2}));
}

TEST(NetLoaderTest, DefaultsWhenNothingIsWritten) {
  const NetConfig net = must_parse(
      "layer { name: 'c' type: 'Convolution' bottom: 'x' top: 'y'\n"
      "        convolution_param { num_output: 6 kernel_size: 3 } }\n"
      "layer { name: 'p' type: 'Pooling' bottom: 'y' top: 'z' pooling_param { kernel_size: 2 } }\n"
      "layer { name: 'l' type: 'SoftmaxWithLoss' bottom: 'z' bottom: 't' top: 'loss' }\n");
  ASSERT_EQ(net.layers.size(), 3u);
  const ConvolutionConfig& c = net.layers[0].convolution;
  EXPECT_EQ(c.stride_h, 1);
  EXPECT_EQ(c.pad_w, 0);
  EXPECT_EQ(c.dilation_h, 1);
  EXPECT_EQ(c.group, 1);
  EXPECT_TRUE(c.bias_term);
  EXPECT_EQ(c.weight_filler.type, "constant");
  EXPECT_TRUE(net.layers[0].param.empty());
  EXPECT_EQ(net.layers[1].pooling.pool, PoolingConfig::Method::kMax);
  EXPECT_EQ(net.layers[1].pooling.stride_w, 1);
  EXPECT_FALSE(net.layers[2].loss.ignore_label.has_value());
  EXPECT_EQ(net.layers[2].loss.normalization, LossConfig::Normalization::kValid);
  EXPECT_EQ(net.source_file, "inline.prototxt");
  EXPECT_EQ(net.layers[2].location.to_string(), "inline.prototxt:4:1");
}

TEST(NetLoaderTest, UnknownLayerTypesAreLeftToTheRegistry) {
  const NetConfig net = must_parse("layer { name: 'm' type: 'Mystery' bottom: 'x' top: 'y' }\n");
  ASSERT_EQ(net.layers.size(), 1u);
  EXPECT_EQ(net.layers[0].type, "Mystery");
}

}  // namespace
}  // namespace banyan
