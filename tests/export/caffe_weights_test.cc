// Caffe weights in: .caffemodel files written here with the generated
// protobuf classes (current `layer` form through the project's own
// NetParameter, legacy V1 `layers` form with 4-D num/channels/height/width
// shapes) load into the right parameters by layer name; bad shapes and
// files that are neither format are refused with clear messages.
#include "engine/caffe_weights.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "banyan.pb.h"
#include "caffemodel.pb.h"
#include "engine/weights_file.h"
#include "tests/export/export_test_util.h"

namespace banyan {
namespace {

constexpr char kNet[] = R"(
name: "Small"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 5 dim: 5 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "ip" type: "InnerProduct" bottom: "conv" top: "ip" inner_product_param { num_output: 3 } }
)";

// Distinct values per blob: base + 0.001 * i.
std::vector<float> ramp(int64_t n, float base) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = base + 0.001f * static_cast<float>(i);
  return v;
}

void set_shape(pb::BlobProto* b, const std::vector<int64_t>& dims) {
  for (int64_t d : dims) b->mutable_shape()->add_dim(d);
}

void set_legacy_shape(pb::BlobProto* b, int n, int c, int h, int w) {
  b->set_num(n);
  b->set_channels(c);
  b->set_height(h);
  b->set_width(w);
}

void set_data(pb::BlobProto* b, const std::vector<float>& v, bool as_double = false) {
  for (float x : v) {
    if (as_double) {
      b->add_double_data(x);
    } else {
      b->add_data(x);
    }
  }
}

std::string write_message(const google::protobuf::MessageLite& m, const std::string& name) {
  const std::string path =
      ::testing::TempDir() + "banyan_caffe_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream out(path, std::ios::binary);
  out << m.SerializeAsString();
  return path;
}

class CaffeWeightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = testing::make_deploy_net(kNet, "small.prototxt", &d_);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  void TearDown() override {
    for (const std::string& p : files_) std::remove(p.c_str());
  }
  std::string track(std::string path) {
    files_.push_back(path);
    return path;
  }
  std::vector<float> param(const std::string& name) const {
    const NetParam* p = d_.net->find_param(name);
    EXPECT_NE(p, nullptr) << name;
    return std::vector<float>(p->blob->data(), p->blob->data() + p->blob->shape().count());
  }

  testing::DeployNet d_;
  std::vector<std::string> files_;
  const std::vector<float> conv_w_ = ramp(4 * 3 * 3 * 3, 0.5f), conv_b_ = ramp(4, -1.0f);
  const std::vector<float> ip_w_ = ramp(3 * 4 * 3 * 3, 2.0f), ip_b_ = ramp(3, -3.0f);
};

TEST_F(CaffeWeightsTest, CurrentLayerFormLoadsByName) {
  pb::NetParameter net;
  net.set_name("Small");
  pb::LayerParameter* extra = net.add_layer();  // a layer the net lacks: ignored
  extra->set_name("fc_other");
  set_shape(extra->add_blobs(), {2});
  set_data(extra->mutable_blobs(0), {1.0f, 2.0f});
  pb::LayerParameter* ip = net.add_layer();  // out of order on purpose
  ip->set_name("ip");
  ip->set_type("InnerProduct");
  set_shape(ip->add_blobs(), {3, 36});
  set_data(ip->mutable_blobs(0), ip_w_);
  set_shape(ip->add_blobs(), {3});
  set_data(ip->mutable_blobs(1), ip_b_);
  pb::LayerParameter* conv = net.add_layer();
  conv->set_name("conv");
  conv->set_type("Convolution");
  set_shape(conv->add_blobs(), {4, 3, 3, 3});
  set_data(conv->mutable_blobs(0), conv_w_);
  set_shape(conv->add_blobs(), {4});
  set_data(conv->mutable_blobs(1), conv_b_, /*as_double=*/true);
  const std::string path = track(write_message(net, "current.caffemodel"));

  WeightsLoadReport report;
  Status s = load_weights_into(path, d_.net.get(), &report);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(param("conv/0"), conv_w_);
  EXPECT_EQ(param("conv/1"), conv_b_);
  EXPECT_EQ(param("ip/0"), ip_w_);
  EXPECT_EQ(param("ip/1"), ip_b_);
  EXPECT_EQ(report.loaded.size(), 4u);
  EXPECT_EQ(report.ignored, std::vector<std::string>{"fc_other/0"});
  EXPECT_TRUE(report.missing.empty());
}

TEST_F(CaffeWeightsTest, LegacyV1LayersWithFourDimShapesLoad) {
  pb::CaffeNetWeights net;
  pb::CaffeV1Layer* conv = net.add_layers();
  conv->set_name("conv");
  conv->set_type(4);  // V1 CONVOLUTION
  set_legacy_shape(conv->add_blobs(), 4, 3, 3, 3);
  set_data(conv->mutable_blobs(0), conv_w_);
  set_legacy_shape(conv->add_blobs(), 1, 1, 1, 4);
  set_data(conv->mutable_blobs(1), conv_b_);
  pb::CaffeV1Layer* ip = net.add_layers();
  ip->set_name("ip");
  ip->set_type(14);  // V1 INNER_PRODUCT
  set_legacy_shape(ip->add_blobs(), 1, 1, 3, 36);
  set_data(ip->mutable_blobs(0), ip_w_);
  set_legacy_shape(ip->add_blobs(), 1, 1, 1, 3);
  set_data(ip->mutable_blobs(1), ip_b_);
  const std::string path = track(write_message(net, "v1.caffemodel"));

  Status s = load_weights_into(path, d_.net.get());
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(param("conv/0"), conv_w_);
  EXPECT_EQ(param("conv/1"), conv_b_);
  EXPECT_EQ(param("ip/0"), ip_w_);
  EXPECT_EQ(param("ip/1"), ip_b_);
}

TEST_F(CaffeWeightsTest, WrongShapeNamesTheParameterAndLoadsNothing) {
  pb::NetParameter net;
  pb::LayerParameter* conv = net.add_layer();
  conv->set_name("conv");
  set_shape(conv->add_blobs(), {4, 3, 3, 3});
  set_data(conv->mutable_blobs(0), conv_w_);
  pb::LayerParameter* ip = net.add_layer();
  ip->set_name("ip");
  set_shape(ip->add_blobs(), {36, 3});  // transposed: same count, wrong shape
  set_data(ip->mutable_blobs(0), ip_w_);
  const std::string path = track(write_message(net, "badshape.caffemodel"));
  const std::vector<float> before = param("conv/0");

  Status s = load_weights_into(path, d_.net.get());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("ip/0"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("(36, 3)"), std::string::npos) << s.message();
  EXPECT_EQ(param("conv/0"), before);  // nothing copied
}

TEST_F(CaffeWeightsTest, ValueCountDifferentFromShapeIsDataLoss) {
  pb::NetParameter net;
  pb::LayerParameter* conv = net.add_layer();
  conv->set_name("conv");
  set_shape(conv->add_blobs(), {4, 3, 3, 3});
  set_data(conv->mutable_blobs(0), ramp(10, 0.0f));
  const std::string path = track(write_message(net, "short.caffemodel"));
  Status s = load_weights_into(path, d_.net.get());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("conv/0"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
}

TEST_F(CaffeWeightsTest, FileOfNeitherFormatIsRefused) {
  const std::string path =
      track(::testing::TempDir() + "banyan_caffe_garbage_" + std::to_string(::getpid()));
  {
    std::ofstream out(path, std::ios::binary);
    out << "this is not a weights file at all\xff\xff\xff";
  }
  Status s = load_weights_into(path, d_.net.get());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.message();
  EXPECT_NE(s.message().find("BANYANW"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
}

TEST(WeightShapeFitsTest, LegacyLeadingOnesOnlyForCaffeFiles) {
  EXPECT_TRUE(weight_shape_fits(Shape{3, 36}, Shape{3, 36}, false));
  EXPECT_FALSE(weight_shape_fits(Shape{3, 36}, Shape{1, 1, 3, 36}, false));
  EXPECT_TRUE(weight_shape_fits(Shape{3, 36}, Shape{1, 1, 3, 36}, true));
  EXPECT_TRUE(weight_shape_fits(Shape{3}, Shape{1, 1, 1, 3}, true));
  EXPECT_FALSE(weight_shape_fits(Shape{3, 36}, Shape{1, 1, 36, 3}, true));
  EXPECT_FALSE(weight_shape_fits(Shape{1}, Shape{1, 1, 1, 2}, true));
}

}  // namespace
}  // namespace banyan
