// Tests of the image-folder import behind convert_imageset: list parsing,
// skipping bad lines, raw and encoded records, resizing, gray, seeded
// shuffle, size checks.
#include "data/imageset.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/datum.h"
#include "data/image.h"
#include "data/jpeg.h"
#include "data/lmdb.h"

namespace banyan {
namespace {

HwcImage picture(int h, int w, int seed) {
  HwcImage img;
  img.height = h;
  img.width = w;
  img.channels = 3;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int k = 0; k < 3; ++k) img.pixels.push_back(30 + 50 * k + 3 * x + 2 * y + 5 * seed);
    }
  }
  return img;
}

class ImagesetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "banyan_imageset_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    std::filesystem::create_directories(dir_ + "/root/sub");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes root/<name> as a JPEG of `img` and returns its bytes.
  std::string write_jpeg(const std::string& name, const HwcImage& img) {
    std::string bytes;
    EXPECT_TRUE(JpegEncoder().encode(img, 95, &bytes).ok());
    std::ofstream(dir_ + "/root/" + name, std::ios::binary) << bytes;
    return bytes;
  }
  std::string write_list(const std::string& text) {
    std::string path = dir_ + "/list.txt";
    std::ofstream(path) << text;
    return path;
  }
  std::vector<DatumRecord> read_all(const std::string& path, std::vector<std::string>* keys) {
    LmdbReader r;
    EXPECT_TRUE(LmdbReader::open(path, &r).ok());
    std::vector<DatumRecord> out;
    *keys = r.keys();
    for (size_t i = 0; i < r.size(); ++i) {
      std::string v;
      EXPECT_TRUE(r.get_at(i, &v).ok());
      out.emplace_back();
      EXPECT_TRUE(parse_datum(v, &out.back()).ok());
    }
    return out;
  }

  std::string dir_;
};

// Stands in for OpenCV's imread: "*.fake" files hold "h w seed".
Status fake_loader(const std::string& path, bool gray, HwcImage* out) {
  std::ifstream in(path);
  int h = 0, w = 0, seed = 0;
  if (!(in >> h >> w >> seed)) return Status::data_loss("cannot read '" + path + "'");
  *out = picture(h, w, seed);
  if (gray) {
    HwcImage g{h, w, 1, {}};
    for (size_t i = 0; i < out->pixels.size(); i += 3) g.pixels.push_back(out->pixels[i + 1]);
    *out = g;
  }
  return Status::success();
}

TEST_F(ImagesetTest, RawRecordsSkippingBadLines) {
  HwcImage a = picture(6, 8, 1);
  write_jpeg("a.jpg", a);
  std::ofstream(dir_ + "/root/sub/b c.fake") << "6 8 2";
  std::string list = write_list(
      "a.jpg 3\n"
      "no_label_here\n"
      "\n"
      "sub/b c.fake 5\n"
      "missing.jpg 1\n"
      "a.jpg notanumber\n");
  ImagesetStats stats;
  std::string out = dir_ + "/lmdb";
  ASSERT_TRUE(convert_imageset(dir_ + "/root", list, out, {}, fake_loader, &stats).ok());
  EXPECT_EQ(stats.lines, 5);
  EXPECT_EQ(stats.converted, 2);
  EXPECT_EQ(stats.skipped, 3);
  std::vector<std::string> keys;
  std::vector<DatumRecord> recs = read_all(out, &keys);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(keys[0], "00000000_a.jpg");
  EXPECT_EQ(keys[1], "00000001_sub/b c.fake");  // index in the list of parsed lines
  EXPECT_EQ(recs[0].label, 3);
  EXPECT_EQ(recs[1].label, 5);
  EXPECT_EQ(recs[0].channels, 3);
  EXPECT_EQ(recs[0].height, 6);
  EXPECT_EQ(recs[0].width, 8);
  EXPECT_FALSE(recs[0].encoded);
  // Raw data is C x H x W BGR; the JPEG source is close to the picture.
  ChwImage expected;
  hwc_to_chw(a, &expected);
  ASSERT_EQ(recs[0].data.size(), expected.u8.size());
  for (size_t i = 0; i < expected.u8.size(); ++i) {
    ASSERT_NEAR(static_cast<uint8_t>(recs[0].data[i]), expected.u8[i], 10) << i;
  }
  hwc_to_chw(picture(6, 8, 2), &expected);
  EXPECT_EQ(recs[1].data, std::string(expected.u8.begin(), expected.u8.end()));
}

TEST_F(ImagesetTest, EncodedKeepsJpegBytesUnlessResized) {
  std::string bytes = write_jpeg("a.jpg", picture(10, 12, 3));
  std::ofstream(dir_ + "/root/b.fake") << "10 12 4";
  std::string list = write_list("a.jpg 0\nb.fake 1\n");
  ImagesetOptions o;
  o.encoded = true;
  std::string out = dir_ + "/enc";
  ASSERT_TRUE(convert_imageset(dir_ + "/root/", list, out, o, fake_loader, nullptr).ok());
  std::vector<std::string> keys;
  std::vector<DatumRecord> recs = read_all(out, &keys);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_TRUE(recs[0].encoded);
  EXPECT_EQ(recs[0].data, bytes);  // stored byte for byte
  EXPECT_TRUE(recs[1].encoded);    // encoded from the loader's pixels
  JpegDecoder dec;
  HwcImage img;
  ASSERT_TRUE(dec.decode(recs[1].data, JpegColor::kNative, &img).ok());
  EXPECT_EQ(img.height, 10);
  EXPECT_EQ(img.width, 12);

  o.resize_height = 5;
  o.resize_width = 7;
  o.overwrite = true;
  ASSERT_TRUE(convert_imageset(dir_ + "/root/", list, out, o, fake_loader, nullptr).ok());
  recs = read_all(out, &keys);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_NE(recs[0].data, bytes);
  for (const DatumRecord& r : recs) {
    ASSERT_TRUE(dec.decode(r.data, JpegColor::kNative, &img).ok());
    EXPECT_EQ(img.height, 5);
    EXPECT_EQ(img.width, 7);
    EXPECT_EQ(img.channels, 3);
  }
}

TEST_F(ImagesetTest, DamagedJpegFallsBackToTheLoader) {
  std::string bytes = write_jpeg("full.jpg", picture(32, 40, 1));
  std::ofstream(dir_ + "/root/cut.jpg", std::ios::binary) << bytes.substr(0, bytes.size() * 9 / 10);
  std::string list = write_list("cut.jpg 4\n");
  ImagesetOptions o;
  o.encoded = true;
  // Without another loader the damaged file is skipped.
  ImagesetStats stats;
  EXPECT_FALSE(convert_imageset(dir_ + "/root", list, dir_ + "/a", o, nullptr, &stats).ok());
  EXPECT_EQ(stats.skipped, 1);
  // With one (OpenCV in the tool) it is read there and re-encoded cleanly.
  int calls = 0;
  ImageLoader loader = [&](const std::string&, bool, HwcImage* out) {
    ++calls;
    *out = picture(32, 40, 1);
    return Status::success();
  };
  ASSERT_TRUE(convert_imageset(dir_ + "/root", list, dir_ + "/b", o, loader, &stats).ok());
  EXPECT_EQ(calls, 1);
  std::vector<std::string> keys;
  std::vector<DatumRecord> recs = read_all(dir_ + "/b", &keys);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].label, 4);
  HwcImage img;
  EXPECT_TRUE(JpegDecoder().decode(recs[0].data, JpegColor::kNative, &img).ok());
}

TEST_F(ImagesetTest, GrayResizedRaw) {
  write_jpeg("a.jpg", picture(9, 9, 1));
  std::ofstream(dir_ + "/root/b.fake") << "4 6 2";
  ImagesetOptions o;
  o.gray = true;
  o.resize_height = 3;
  o.resize_width = 4;
  std::string out = dir_ + "/gray";
  ASSERT_TRUE(convert_imageset(dir_ + "/root", write_list("a.jpg 0\nb.fake 1\n"), out, o,
                               fake_loader, nullptr)
                  .ok());
  std::vector<std::string> keys;
  std::vector<DatumRecord> recs = read_all(out, &keys);
  ASSERT_EQ(recs.size(), 2u);
  for (const DatumRecord& r : recs) {
    EXPECT_EQ(r.channels, 1);
    EXPECT_EQ(r.height, 3);
    EXPECT_EQ(r.width, 4);
    EXPECT_EQ(r.data.size(), 12u);
  }
}

TEST_F(ImagesetTest, SeededShuffle) {
  std::string text;
  for (int i = 0; i < 10; ++i) {
    std::ofstream(dir_ + "/root/" + std::to_string(i) + ".fake") << "2 2 " << i;
    text += std::to_string(i) + ".fake " + std::to_string(i) + "\n";
  }
  std::string list = write_list(text);
  auto labels = [&](uint64_t seed, const std::string& name) {
    ImagesetOptions o;
    o.shuffle = true;
    o.seed = seed;
    std::string out = dir_ + "/" + name;
    EXPECT_TRUE(convert_imageset(dir_ + "/root", list, out, o, fake_loader, nullptr).ok());
    std::vector<std::string> keys;
    std::vector<int> l;
    for (const DatumRecord& r : read_all(out, &keys)) l.push_back(r.label);
    return l;
  };
  std::vector<int> a = labels(5, "a"), b = labels(5, "b"), c = labels(6, "c");
  ASSERT_EQ(a.size(), 10u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(sorted[i], i);
  std::vector<int> identity = sorted;
  EXPECT_NE(a, identity);
}

TEST_F(ImagesetTest, CheckSizeAndFailures) {
  std::ofstream(dir_ + "/root/a.fake") << "4 4 1";
  std::ofstream(dir_ + "/root/b.fake") << "4 5 2";
  std::string list = write_list("a.fake 0\nb.fake 1\n");
  ImagesetOptions o;
  o.check_size = true;
  ImagesetStats stats;
  ASSERT_TRUE(convert_imageset(dir_ + "/root", list, dir_ + "/x", o, fake_loader, &stats).ok());
  EXPECT_EQ(stats.converted, 1);
  EXPECT_EQ(stats.skipped, 1);
  // Nothing convertible: an error; bad options and missing lists too.
  Status s = convert_imageset(dir_ + "/root", write_list("none.jpg 1\n"), dir_ + "/y", {},
                              fake_loader, &stats);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no image"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/y"));
  o = ImagesetOptions();
  o.resize_height = 5;
  EXPECT_EQ(convert_imageset(dir_ + "/root", list, dir_ + "/z", o, fake_loader, nullptr).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      convert_imageset(dir_ + "/root", dir_ + "/absent.txt", dir_ + "/z", {}, fake_loader, nullptr)
          .code(),
      StatusCode::kNotFound);
  // An existing output is refused without overwrite.
  EXPECT_EQ(convert_imageset(dir_ + "/root", list, dir_ + "/x", {}, fake_loader, nullptr).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace banyan
