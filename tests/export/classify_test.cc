// banyan classify's preprocessing and ranking: PNG files written here with
// libpng's own writer and JPEGs with the project's encoder go through a net
// whose output is its (flattened) input, so the scores are the transformed
// pixels and can be checked against (pixel - mean) * scale computed here.
#include "engine/export/classify.h"

#include <gtest/gtest.h>
#include <png.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "data/jpeg.h"
#include "data/mean_file.h"
#include "tests/export/export_test_util.h"

namespace banyan {
namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "banyan_classify_" + std::to_string(::getpid()) + "_" + name;
}

// An RGB PNG of h x w with pixel (y, x, c) = 7 * y + 3 * x + 50 * c.
std::string write_rgb_png(const std::string& name, int h, int w) {
  std::vector<uint8_t> rgb(static_cast<size_t>(h) * w * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c)
        rgb[(y * w + x) * 3 + c] = static_cast<uint8_t>(7 * y + 3 * x + 50 * c);
    }
  }
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = w;
  image.height = h;
  image.format = PNG_FORMAT_RGB;
  const std::string path = temp_path(name);
  EXPECT_TRUE(png_image_write_to_file(&image, path.c_str(), 0, rgb.data(), 0, nullptr))
      << image.message;
  return path;
}

uint8_t rgb_pixel(int y, int x, int c) { return static_cast<uint8_t>(7 * y + 3 * x + 50 * c); }

// Input (2, 3, 6, 6) -> Flatten: the "scores" are the transformed input.
std::string identity_net(const std::string& transform) {
  return R"(name: "Identity"
layer { name: "data" type: "Input" top: "data" )" +
         transform + R"( input_param { shape { dim: 2 dim: 3 dim: 6 dim: 6 } } }
layer { name: "flat" type: "Flatten" bottom: "data" top: "flat" })";
}

std::vector<float> scores_of(const std::vector<Prediction>& top, int n) {
  std::vector<float> s(n, -1e9f);
  for (const Prediction& p : top) s[p.label] = p.score;
  return s;
}

TEST(ClassifyTest, PngIsBgrMeanSubtractedAndScaled) {
  testing::DeployNet d;
  Status s = testing::make_deploy_net(
      identity_net("transform_param { scale: 0.5 mean_value: 10 mean_value: 20 mean_value: 30 }"),
      "identity.prototxt", &d);
  ASSERT_TRUE(s.ok()) << s.message();
  std::unique_ptr<Classifier> c;
  ASSERT_TRUE(Classifier::create(d.config, d.net.get(), "", &c).ok());
  EXPECT_EQ(c->output_name(), "flat");
  const std::string png = write_rgb_png("a.png", 6, 6);
  std::vector<std::vector<Prediction>> out;
  s = c->classify({png, png, png}, 108, &out);  // 3 images through a batch of 2
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(out.size(), 3u);
  const float mean_bgr[3] = {10, 20, 30};
  const std::vector<float> got = scores_of(out[2], 108);
  for (int c_bgr = 0; c_bgr < 3; ++c_bgr) {
    for (int y = 0; y < 6; ++y) {
      for (int x = 0; x < 6; ++x) {
        const float want = (rgb_pixel(y, x, 2 - c_bgr) - mean_bgr[c_bgr]) * 0.5f;
        EXPECT_EQ(got[(c_bgr * 6 + y) * 6 + x], want) << c_bgr << "," << y << "," << x;
      }
    }
  }
  for (size_t k = 1; k < out[0].size(); ++k) EXPECT_GE(out[0][k - 1].score, out[0][k].score);
  std::remove(png.c_str());
}

TEST(ClassifyTest, MeanImageLargerThanInputMeansCentreCrop) {
  testing::DeployNet d;
  Status s = testing::make_deploy_net(identity_net("transform_param { crop_size: 6 }"),
                                      "identity.prototxt", &d);
  ASSERT_TRUE(s.ok()) << s.message();
  MeanImage mean;
  mean.channels = 3;
  mean.height = 8;
  mean.width = 8;
  for (int i = 0; i < 3 * 64; ++i) mean.data.push_back(static_cast<float>(i % 17));
  const std::string mean_path = temp_path("mean.binaryproto");
  ASSERT_TRUE(write_mean_file(mean_path, mean).ok());
  std::unique_ptr<Classifier> c;
  s = Classifier::create(d.config, d.net.get(), mean_path, &c);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::string png = write_rgb_png("b.png", 8, 8);  // the mean's size: no resampling
  std::vector<std::vector<Prediction>> out;
  s = c->classify({png}, 108, &out);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::vector<float> got = scores_of(out[0], 108);
  for (int ch = 0; ch < 3; ++ch) {
    for (int y = 0; y < 6; ++y) {
      for (int x = 0; x < 6; ++x) {
        const float m = mean.data[(ch * 8 + y + 1) * 8 + x + 1];
        EXPECT_EQ(got[(ch * 6 + y) * 6 + x], rgb_pixel(y + 1, x + 1, 2 - ch) - m);
      }
    }
  }
  std::remove(png.c_str());
  std::remove(mean_path.c_str());
}

TEST(ClassifyTest, JpegMatchesTheDecoderAndOtherFilesAreRefused) {
  testing::DeployNet d;
  ASSERT_TRUE(testing::make_deploy_net(identity_net(""), "identity.prototxt", &d).ok());
  std::unique_ptr<Classifier> c;
  ASSERT_TRUE(Classifier::create(d.config, d.net.get(), "", &c).ok());
  HwcImage img;
  img.height = img.width = 6;
  img.channels = 3;
  for (int i = 0; i < 108; ++i) img.pixels.push_back(static_cast<uint8_t>(i * 2));
  std::string jpeg;
  ASSERT_TRUE(JpegEncoder().encode(img, 95, &jpeg).ok());
  const std::string path = temp_path("c.jpg");
  std::ofstream(path, std::ios::binary) << jpeg;
  HwcImage decoded;
  ASSERT_TRUE(JpegDecoder().decode(jpeg, JpegColor::kBgr, &decoded).ok());
  std::vector<std::vector<Prediction>> out;
  Status s = c->classify({path}, 108, &out);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::vector<float> got = scores_of(out[0], 108);
  for (int ch = 0; ch < 3; ++ch) {
    for (int p = 0; p < 36; ++p) EXPECT_EQ(got[ch * 36 + p], decoded.pixels[p * 3 + ch]);
  }
  const std::string bogus = temp_path("d.gif");
  std::ofstream(bogus, std::ios::binary) << "GIF89a not really";
  s = c->classify({bogus}, 5, &out);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(bogus), std::string::npos) << s.message();
  s = c->classify({temp_path("missing.png")}, 5, &out);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  std::remove(path.c_str());
  std::remove(bogus.c_str());
}

}  // namespace
}  // namespace banyan
