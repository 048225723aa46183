// dummy_data_param, image_data_param and hdf5_data_param as Caffe writes
// them: defaults, the expansion of one shape or filler to every top, the
// legacy 4-D DummyData fields, the loader's errors, and a net built from
// Caffe-syntax DummyData whose forward pass runs.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "engine/config/loader.h"
#include "engine/core/context.h"
#include "engine/net.h"

namespace banyan {
namespace {

TEST(DataLayerParamsTest, DummyDataShapesAndFillers) {
  NetConfig net;
  Status s = parse_net_config(R"(name: "d"
layer { name: "a" type: "DummyData" top: "x" top: "y"
  dummy_data_param { shape { dim: 2 dim: 3 } data_filler { type: "gaussian" std: 0.5 } } }
layer { name: "b" type: "DummyData" top: "u" top: "v"
  dummy_data_param { num: 4 num: 5 channels: 3 height: 2 width: 1
                     data_filler { type: "constant" value: 1 }
                     data_filler { type: "uniform" min: -1 max: 1 } } }
layer { name: "c" type: "DummyData" top: "w" dummy_data_param { shape { dim: 7 } } }
)",
                              "d.prototxt", &net);
  ASSERT_TRUE(s.ok()) << s.to_string();
  const DummyDataConfig& a = net.layers[0].dummy_data;
  ASSERT_EQ(a.shapes.size(), 2u);
  EXPECT_EQ(a.shapes[1], (Shape{2, 3}));
  ASSERT_EQ(a.fillers.size(), 2u);
  EXPECT_EQ(a.fillers[1].type, "gaussian");
  EXPECT_EQ(a.fillers[1].std, 0.5f);
  const DummyDataConfig& b = net.layers[1].dummy_data;
  EXPECT_EQ(b.shapes[0], (Shape{4, 3, 2, 1}));
  EXPECT_EQ(b.shapes[1], (Shape{5, 3, 2, 1}));
  EXPECT_EQ(b.fillers[0].value, 1.0f);
  EXPECT_EQ(b.fillers[1].type, "uniform");
  const DummyDataConfig& c = net.layers[2].dummy_data;
  ASSERT_EQ(c.fillers.size(), 1u);
  EXPECT_EQ(c.fillers[0].type, "constant");  // none given: constant 0
  EXPECT_EQ(c.fillers[0].value, 0.0f);

  const std::pair<const char*, const char*> bad[] = {
      {"shape { dim: 2 } shape { dim: 3 } shape { dim: 4 }", "3 shapes for 2 tops"},
      {"shape { dim: 2 dim: 0 }", "dimensions must be > 0"},
      {"num: 2 channels: 1 height: 1", "dummy_data_param.width"},
      {"num: 2 channels: 1 height: 1 width: 1 shape { dim: 2 }", "cannot be given together"},
      {"num: 1 num: 2 num: 3 channels: 1 height: 1 width: 1", "3 values for 2 tops"},
      {"shape { dim: 2 } data_filler {} data_filler {} data_filler {}", "3 fillers for 2 tops"},
      {"shape { dim: 2 } data_filler { type: 'nonsense' }", "data_filler.type"},
  };
  for (const auto& [param, message] : bad) {
    s = parse_net_config(std::string("layer { name: 'q' type: 'DummyData' top: 'a' top: 'b' "
                                     "dummy_data_param { ") +
                             param + " } }",
                         "bad.prototxt", &net);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << param;
    EXPECT_NE(s.message().find(message), std::string::npos) << s.message();
  }
}

TEST(DataLayerParamsTest, ImageDataAndHdf5Data) {
  NetConfig net;
  Status s = parse_net_config(R"(
layer { name: "img" type: "ImageData" top: "data" top: "label"
  transform_param { mirror: true crop_size: 227 mean_value: 104 mean_value: 117 mean_value: 123 }
  image_data_param { source: "list.txt" root_folder: "/images/" batch_size: 50
                     new_height: 256 new_width: 256 shuffle: true is_color: false rand_skip: 3 } }
layer { name: "img2" type: "ImageData" top: "d2" top: "l2" image_data_param { source: "l" } }
layer { name: "h5" type: "HDF5Data" top: "data" top: "label"
  hdf5_data_param { source: "train.txt" batch_size: 64 shuffle: true } }
)",
                              "i.prototxt", &net);
  ASSERT_TRUE(s.ok()) << s.to_string();
  const ImageDataConfig& i = net.layers[0].image_data;
  EXPECT_EQ(i.source, "list.txt");
  EXPECT_EQ(i.root_folder, "/images/");
  EXPECT_EQ(i.batch_size, 50);
  EXPECT_EQ(i.new_height, 256);
  EXPECT_EQ(i.new_width, 256);
  EXPECT_TRUE(i.shuffle);
  EXPECT_FALSE(i.is_color);
  EXPECT_EQ(i.rand_skip, 3);
  EXPECT_EQ(net.layers[0].transform.crop_size, 227);
  const ImageDataConfig& d = net.layers[1].image_data;  // Caffe's defaults
  EXPECT_EQ(d.batch_size, 1);
  EXPECT_FALSE(d.shuffle);
  EXPECT_TRUE(d.is_color);
  EXPECT_EQ(d.new_height, 0);
  const Hdf5DataConfig& h = net.layers[2].hdf5_data;
  EXPECT_EQ(h.source, "train.txt");
  EXPECT_EQ(h.batch_size, 64);
  EXPECT_TRUE(h.shuffle);

  const std::pair<std::string, const char*> bad[] = {
      {"ImageData' image_data_param { batch_size: 2 }", "image_data_param.source"},
      {"ImageData' image_data_param { source: 'l' batch_size: 0 }", "image_data_param.batch_size"},
      {"ImageData' image_data_param { source: 'l' new_height: 5 }", "image_data_param.new_width"},
      {"ImageData' image_data_param { source: 'l' new_width: -1 }", "image_data_param.new_width"},
      {"ImageData' image_data_param { source: 'l' rand_skip: -2 }", "image_data_param.rand_skip"},
      {"ImageData' image_data_param { source: 'l' crop_size: 3 }", "transform_param.crop_size"},
      {"HDF5Data' hdf5_data_param { batch_size: 2 }", "hdf5_data_param.source"},
      {"HDF5Data' hdf5_data_param { source: 's' }", "hdf5_data_param.batch_size"},
  };
  for (const auto& [param, message] : bad) {
    s = parse_net_config("layer { name: 'q' top: 'a' top: 'b' type: '" + param + " }",
                         "bad.prototxt", &net);
    EXPECT_FALSE(s.ok()) << param;
    EXPECT_NE(s.message().find(message), std::string::npos) << s.message();
  }
}

TEST(DataLayerParamsTest, NetWithDummyDataRunsForward) {
  NetConfig net;
  ASSERT_TRUE(parse_net_config(R"(name: "dummy"
layer { name: "data" type: "DummyData" top: "data" top: "target"
  dummy_data_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 2 }
                     data_filler { type: "gaussian" std: 1 }
                     data_filler { type: "constant" value: 0.5 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "out"
  inner_product_param { num_output: 2 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "out" bottom: "target" top: "loss" }
)",
                               "dummy.prototxt", &net)
                  .ok());
  WorkerContext ctx(Device::cpu(), 1);
  std::unique_ptr<Net> n;
  NetBuildOptions train;
  train.phase = Phase::kTrain;
  Status s = Net::create(net, train, &ctx, &n);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(n->blob("data")->shape(), (Shape{4, 3}));
  const float first = n->forward();
  EXPECT_TRUE(std::isfinite(first));
  EXPECT_GT(first, 0.0f);
  for (int64_t i = 0; i < n->blob("target")->count(); ++i) {
    EXPECT_EQ(n->blob("target")->data()[i], 0.5f);
  }
  n->backward();
}

}  // namespace
}  // namespace banyan
