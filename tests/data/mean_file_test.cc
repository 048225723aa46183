// Tests of mean files (.binaryproto, new and legacy shapes) and of the mean
// computation behind compute_mean.
#include "data/mean_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data.pb.h"
#include "data/compute_mean.h"
#include "data/datum.h"
#include "data/image.h"
#include "data/jpeg.h"
#include "data/lmdb.h"

namespace banyan {
namespace {

class MeanFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "banyan_mean_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write_proto(const std::string& path, const pb::BlobProto& blob) {
    std::ofstream out(path, std::ios::binary);
    ASSERT_TRUE(blob.SerializeToOstream(&out));
  }

  // Writes raw records `pixels[i]` of shape c x h x w.
  void write_raw(const std::string& path, int c, int h, int w,
                 const std::vector<std::string>& pixels) {
    LmdbWriter wr;
    ASSERT_TRUE(LmdbWriter::open(path, LmdbWriterOptions(), &wr).ok());
    for (size_t i = 0; i < pixels.size(); ++i) {
      DatumRecord d;
      d.channels = c;
      d.height = h;
      d.width = w;
      d.data = pixels[i];
      ASSERT_TRUE(wr.put("k" + std::to_string(i), serialize_datum(d)).ok());
    }
    ASSERT_TRUE(wr.close().ok());
  }

  std::string dir_;
};

MeanImage ramp(int c, int h, int w) {
  MeanImage m;
  m.channels = c;
  m.height = h;
  m.width = w;
  for (int i = 0; i < c * h * w; ++i) m.data.push_back(0.25f * i + 3.5f);
  return m;
}

TEST_F(MeanFileTest, RoundTrip) {
  MeanImage m = ramp(3, 4, 5);
  std::string path = dir_ + "/mean.binaryproto";
  ASSERT_TRUE(write_mean_file(path, m).ok());
  MeanImage back;
  ASSERT_TRUE(read_mean_file(path, &back).ok());
  EXPECT_EQ(back.channels, 3);
  EXPECT_EQ(back.height, 4);
  EXPECT_EQ(back.width, 5);
  EXPECT_EQ(back.data, m.data);
  // The file carries the (1, C, H, W) shape for current readers.
  std::ifstream in(path, std::ios::binary);
  pb::BlobProto blob;
  ASSERT_TRUE(blob.ParseFromIstream(&in));
  ASSERT_EQ(blob.shape().dim_size(), 4);
  EXPECT_EQ(blob.shape().dim(0), 1);
  EXPECT_EQ(blob.shape().dim(3), 5);
}

TEST_F(MeanFileTest, ReadsLegacyShapeAndDoubles) {
  pb::BlobProto legacy;
  legacy.set_num(1);
  legacy.set_channels(2);
  legacy.set_height(3);
  legacy.set_width(1);
  for (int i = 0; i < 6; ++i) legacy.add_double_data(10.0 + i * 0.5);
  std::string path = dir_ + "/legacy.binaryproto";
  write_proto(path, legacy);
  MeanImage m;
  ASSERT_TRUE(read_mean_file(path, &m).ok());
  EXPECT_EQ(m.channels, 2);
  EXPECT_EQ(m.height, 3);
  EXPECT_EQ(m.width, 1);
  ASSERT_EQ(m.data.size(), 6u);
  EXPECT_FLOAT_EQ(m.data[5], 12.5f);
}

TEST_F(MeanFileTest, RejectsBadFiles) {
  MeanImage m;
  EXPECT_EQ(read_mean_file(dir_ + "/absent", &m).code(), StatusCode::kNotFound);
  pb::BlobProto few;
  for (int64_t d : {1, 2, 2, 2}) few.mutable_shape()->add_dim(d);
  for (int i = 0; i < 7; ++i) few.add_data(1.0f + i);
  std::string path = dir_ + "/few.binaryproto";
  write_proto(path, few);
  Status s = read_mean_file(path, &m);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("needs 8 values"), std::string::npos) << s.message();
  pb::BlobProto batch;
  for (int64_t d : {2, 1, 1, 1}) batch.mutable_shape()->add_dim(d);
  batch.add_data(1.0f);
  batch.add_data(2.0f);
  write_proto(path, batch);
  s = read_mean_file(path, &m);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  std::ofstream(path, std::ios::binary) << "\xff\xff\xff garbage";
  EXPECT_EQ(read_mean_file(path, &m).code(), StatusCode::kDataLoss);
  MeanImage bad = ramp(1, 2, 2);
  bad.data.pop_back();
  EXPECT_EQ(write_mean_file(path, bad).code(), StatusCode::kInvalidArgument);
}

TEST_F(MeanFileTest, ComputeMeanOfRawRecords) {
  const int c = 2, h = 3, w = 4, n = 5;
  std::vector<std::string> pixels;
  for (int i = 0; i < n; ++i) {
    std::string p(c * h * w, '\0');
    for (int j = 0; j < c * h * w; ++j) p[j] = static_cast<char>((i * 31 + j * 17) % 250 + 3);
    pixels.push_back(p);
  }
  std::string path = dir_ + "/raw";
  write_raw(path, c, h, w, pixels);
  MeanImage mean;
  int64_t count = 0;
  ASSERT_TRUE(compute_mean(path, &mean, &count).ok());
  EXPECT_EQ(count, n);
  ASSERT_EQ(mean.channels, c);
  ASSERT_EQ(mean.height, h);
  ASSERT_EQ(mean.width, w);
  for (int j = 0; j < c * h * w; ++j) {
    double s = 0;
    for (const std::string& p : pixels) s += static_cast<uint8_t>(p[j]);
    EXPECT_NEAR(mean.data[j], s / n, 1e-4) << j;
  }
  std::vector<double> per_channel = channel_means(mean);
  ASSERT_EQ(per_channel.size(), 2u);
  double s1 = 0;
  for (int j = h * w; j < 2 * h * w; ++j) s1 += mean.data[j];
  EXPECT_NEAR(per_channel[1], s1 / (h * w), 1e-4);
}

TEST_F(MeanFileTest, ComputeMeanOfJpegRecordsIsNearTheSource) {
  const int h = 16, w = 24, n = 3;
  std::vector<HwcImage> sources;
  LmdbWriter wr;
  std::string path = dir_ + "/jpeg";
  ASSERT_TRUE(LmdbWriter::open(path, LmdbWriterOptions(), &wr).ok());
  JpegEncoder enc;
  for (int i = 0; i < n; ++i) {
    HwcImage img;
    img.height = h;
    img.width = w;
    img.channels = 3;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        for (int k = 0; k < 3; ++k) img.pixels.push_back(60 + 40 * k + 2 * x + y + 10 * i);
      }
    }
    DatumRecord d;
    d.encoded = true;
    ASSERT_TRUE(enc.encode(img, 98, &d.data).ok());
    ASSERT_TRUE(wr.put("k" + std::to_string(i), serialize_datum(d)).ok());
    sources.push_back(img);
  }
  ASSERT_TRUE(wr.close().ok());
  MeanImage mean;
  ASSERT_TRUE(compute_mean(path, &mean, nullptr).ok());
  ASSERT_EQ(mean.channels, 3);
  ASSERT_EQ(mean.height, h);
  ASSERT_EQ(mean.width, w);
  for (int k = 0; k < 3; ++k) {
    for (int p = 0; p < h * w; ++p) {
      double s = 0;
      for (const HwcImage& img : sources) s += img.pixels[p * 3 + k];
      ASSERT_NEAR(mean.data[k * h * w + p], s / n, 6.0) << "channel " << k << " pixel " << p;
    }
  }
}

TEST_F(MeanFileTest, ComputeMeanErrors) {
  std::string path = dir_ + "/mixed";
  LmdbWriter wr;
  ASSERT_TRUE(LmdbWriter::open(path, LmdbWriterOptions(), &wr).ok());
  DatumRecord a;
  a.channels = 1;
  a.height = 2;
  a.width = 2;
  a.data = "\x01\x02\x03\x04";
  ASSERT_TRUE(wr.put("a", serialize_datum(a)).ok());
  a.width = 1;
  a.data = "\x05\x06";
  ASSERT_TRUE(wr.put("b", serialize_datum(a)).ok());
  ASSERT_TRUE(wr.close().ok());
  MeanImage mean;
  Status s = compute_mean(path, &mean, nullptr);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("record 'b'"), std::string::npos) << s.message();
  EXPECT_EQ(compute_mean(dir_ + "/absent", &mean, nullptr).code(), StatusCode::kNotFound);
  std::string empty = dir_ + "/empty";
  ASSERT_TRUE(LmdbWriter::open(empty, LmdbWriterOptions(), &wr).ok());
  ASSERT_TRUE(wr.close().ok());
  EXPECT_EQ(compute_mean(empty, &mean, nullptr).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace banyan
