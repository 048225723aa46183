// Tests of DataTransformer: centre crop, mirror, mean (file and values),
// scale, counter-based draws, and configuration errors.
#include "data/transform.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "data/mean_file.h"

namespace banyan {
namespace {

// A c x h x w uint8 image with distinct non-zero pixels.
ChwImage pattern(int c, int h, int w) {
  ChwImage img;
  img.channels = c;
  img.height = h;
  img.width = w;
  for (int k = 0; k < c; ++k) {
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) img.u8.push_back(static_cast<uint8_t>(1 + 60 * k + 7 * y + x));
    }
  }
  return img;
}

float at(const ChwImage& img, int c, int y, int x) {
  size_t i = (static_cast<size_t>(c) * img.height + y) * img.width + x;
  return img.is_float ? img.f32[i] : img.u8[i];
}

TEST(TransformTest, NoOptionsCopiesPixels) {
  ChwImage img = pattern(2, 3, 4);
  DataTransformer t;
  ASSERT_TRUE(t.init(TransformConfig(), 2, 3, 4).ok());
  EXPECT_EQ(t.out_count(), 24u);
  std::vector<float> out(24, -1.0f);
  t.apply(img, t.draw(Phase::kTrain, 1, 0, 0), out.data());
  for (int i = 0; i < 24; ++i) EXPECT_EQ(out[i], img.u8[i]);
}

TEST(TransformTest, TestPhaseCentreCrop) {
  ChwImage img = pattern(3, 7, 9);
  TransformConfig c;
  c.crop_size = 5;
  c.mirror = true;  // ignored in TEST
  DataTransformer t;
  ASSERT_TRUE(t.init(c, 3, 7, 9).ok());
  EXPECT_EQ(t.out_height(), 5);
  EXPECT_EQ(t.out_width(), 5);
  CropMirror cm = t.draw(Phase::kTest, 42, 3, 99);
  EXPECT_EQ(cm.h_off, 1);
  EXPECT_EQ(cm.w_off, 2);
  EXPECT_FALSE(cm.mirror);
  std::vector<float> out(t.out_count(), -1.0f);
  t.apply(img, cm, out.data());
  for (int k = 0; k < 3; ++k) {
    for (int y = 0; y < 5; ++y) {
      for (int x = 0; x < 5; ++x) {
        ASSERT_EQ(out[(k * 5 + y) * 5 + x], at(img, k, 1 + y, 2 + x)) << k << y << x;
      }
    }
  }
}

TEST(TransformTest, MirrorFlipsRows) {
  ChwImage img = pattern(2, 4, 6);
  TransformConfig c;
  c.mirror = true;
  DataTransformer t;
  ASSERT_TRUE(t.init(c, 2, 4, 6).ok());
  // Find one mirrored and one plain draw among the first samples.
  int mirrored = -1, plain = -1;
  for (int i = 0; i < 64 && (mirrored < 0 || plain < 0); ++i) {
    (t.draw(Phase::kTrain, 7, 0, i).mirror ? mirrored : plain) = i;
  }
  ASSERT_GE(mirrored, 0);
  ASSERT_GE(plain, 0);
  std::vector<float> a(t.out_count()), b(t.out_count());
  t.apply(img, t.draw(Phase::kTrain, 7, 0, mirrored), a.data());
  t.apply(img, t.draw(Phase::kTrain, 7, 0, plain), b.data());
  for (int k = 0; k < 2; ++k) {
    for (int y = 0; y < 4; ++y) {
      for (int x = 0; x < 6; ++x) {
        ASSERT_EQ(a[(k * 4 + y) * 6 + x], at(img, k, y, 5 - x));
        ASSERT_EQ(b[(k * 4 + y) * 6 + x], at(img, k, y, x));
      }
    }
  }
}

TEST(TransformTest, MeanValuesAndScale) {
  ChwImage img = pattern(3, 2, 2);
  TransformConfig c;
  c.mean_value = {10.0f, 20.5f, 30.0f};
  c.scale = 0.5f;
  DataTransformer t;
  ASSERT_TRUE(t.init(c, 3, 2, 2).ok());
  std::vector<float> out(12);
  t.apply(img, t.draw(Phase::kTest, 0, 0, 0), out.data());
  for (int k = 0; k < 3; ++k) {
    for (int p = 0; p < 4; ++p) {
      EXPECT_FLOAT_EQ(out[k * 4 + p], (img.u8[k * 4 + p] - c.mean_value[k]) * 0.5f);
    }
  }
  // One value applies to every channel; float input works the same way.
  c.mean_value = {4.0f};
  ASSERT_TRUE(t.init(c, 3, 2, 2).ok());
  ChwImage f;
  f.channels = 3;
  f.height = f.width = 2;
  f.is_float = true;
  for (int i = 0; i < 12; ++i) f.f32.push_back(0.75f * i - 2.0f);
  t.apply(f, t.draw(Phase::kTest, 0, 0, 0), out.data());
  for (int i = 0; i < 12; ++i) EXPECT_FLOAT_EQ(out[i], (f.f32[i] - 4.0f) * 0.5f);
}

TEST(TransformTest, MeanFileIsCroppedWithTheImage) {
  std::string dir = ::testing::TempDir() + "banyan_transform_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  MeanImage mean;
  mean.channels = 2;
  mean.height = 5;
  mean.width = 6;
  for (int i = 0; i < 60; ++i) mean.data.push_back(0.5f * i + 1.0f);
  std::string path = dir + "/mean.binaryproto";
  ASSERT_TRUE(write_mean_file(path, mean).ok());
  ChwImage img = pattern(2, 5, 6);
  TransformConfig c;
  c.mean_file = path;
  c.crop_size = 3;
  c.mirror = true;
  c.scale = 2.0f;
  DataTransformer t;
  ASSERT_TRUE(t.init(c, 2, 5, 6).ok());
  std::filesystem::remove_all(dir);
  for (int i = 0; i < 8; ++i) {
    CropMirror cm = t.draw(Phase::kTrain, 3, 1, i);
    std::vector<float> out(t.out_count());
    t.apply(img, cm, out.data());
    for (int k = 0; k < 2; ++k) {
      for (int y = 0; y < 3; ++y) {
        for (int x = 0; x < 3; ++x) {
          int sx = cm.w_off + (cm.mirror ? 2 - x : x), sy = cm.h_off + y;
          float m = mean.data[(k * 5 + sy) * 6 + sx];
          ASSERT_FLOAT_EQ(out[(k * 3 + y) * 3 + x], (at(img, k, sy, sx) - m) * 2.0f);
        }
      }
    }
  }
}

TEST(TransformTest, TrainDrawsDependOnlyOnSeedEpochIndex) {
  TransformConfig c;
  c.crop_size = 4;
  c.mirror = true;
  DataTransformer a, b;
  ASSERT_TRUE(a.init(c, 3, 12, 10).ok());
  ASSERT_TRUE(b.init(c, 3, 12, 10).ok());
  // The second transformer draws in reverse order: the values are the same.
  std::vector<CropMirror> reversed(400);
  for (int i = 399; i >= 0; --i) reversed[i] = b.draw(Phase::kTrain, 11, 2, i);
  std::set<std::pair<int, int>> offsets;
  int mirrors = 0, same_other_seed = 0, same_other_epoch = 0;
  for (int i = 0; i < 400; ++i) {
    CropMirror x = a.draw(Phase::kTrain, 11, 2, i);
    ASSERT_EQ(x.h_off, reversed[i].h_off);
    ASSERT_EQ(x.w_off, reversed[i].w_off);
    ASSERT_EQ(x.mirror, reversed[i].mirror);
    ASSERT_GE(x.h_off, 0);
    ASSERT_LE(x.h_off, 8);
    ASSERT_GE(x.w_off, 0);
    ASSERT_LE(x.w_off, 6);
    offsets.insert({x.h_off, x.w_off});
    mirrors += x.mirror;
    CropMirror s = a.draw(Phase::kTrain, 12, 2, i);
    same_other_seed += s.h_off == x.h_off && s.w_off == x.w_off && s.mirror == x.mirror;
    CropMirror e = a.draw(Phase::kTrain, 11, 3, i);
    same_other_epoch += e.h_off == x.h_off && e.w_off == x.w_off && e.mirror == x.mirror;
  }
  EXPECT_EQ(offsets.size(), 63u);  // all 9 x 7 offsets occur
  EXPECT_GT(mirrors, 150);
  EXPECT_LT(mirrors, 250);
  EXPECT_LT(same_other_seed, 30);  // chance agreement is 1/126 per sample
  EXPECT_LT(same_other_epoch, 30);
}

TEST(TransformTest, ConfigErrors) {
  DataTransformer t;
  TransformConfig c;
  c.crop_size = 9;
  Status s = t.init(c, 3, 8, 10);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("crop_size 9"), std::string::npos) << s.message();
  c = TransformConfig();
  c.mean_value = {1, 2};
  s = t.init(c, 3, 8, 10);
  EXPECT_NE(s.message().find("expected 1 or 3"), std::string::npos) << s.message();
  c.mean_file = "/nonexistent/mean.binaryproto";
  EXPECT_EQ(t.init(c, 3, 8, 10).code(), StatusCode::kInvalidArgument);
  c.mean_value.clear();
  s = t.init(c, 3, 8, 10);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("/nonexistent/mean.binaryproto"), std::string::npos);
  c = TransformConfig();
  c.force_color = c.force_gray = true;
  EXPECT_FALSE(t.init(c, 3, 8, 10).ok());
}

TEST(TransformTest, MeanFileOfAnotherShapeIsRejected) {
  std::string dir = ::testing::TempDir() + "banyan_transform_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  MeanImage mean;
  mean.channels = 3;
  mean.height = 4;
  mean.width = 4;
  mean.data.assign(48, 1.5f);
  std::string path = dir + "/mean.binaryproto";
  ASSERT_TRUE(write_mean_file(path, mean).ok());
  TransformConfig c;
  c.mean_file = path;
  DataTransformer t;
  Status s = t.init(c, 3, 5, 4);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("3 x 4 x 4"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("3 x 5 x 4"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace banyan
