// Tests of the synthetic image sets: sizes (fixed and ImageNet-like), JPEG
// sizes in the range of photographs, determinism, and the written LMDB.
#include "data/synthetic_images.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>

#include "data/datum.h"
#include "data/lmdb.h"

namespace banyan {
namespace {

TEST(SyntheticImagesTest, VariableSizesAreImageNetLike) {
  SyntheticImagesetOptions o;
  o.variable_sizes = true;
  int distinct = 0, last_h = 0;
  for (int i = 0; i < 200; ++i) {
    int h = 0, w = 0;
    synthetic_image_size(o, i, &h, &w);
    const int short_side = std::min(h, w);
    EXPECT_GE(short_side, 200) << i;
    EXPECT_LE(short_side, 500) << i;
    const double aspect = static_cast<double>(w) / h;
    EXPECT_GE(aspect, 0.75 - 0.01) << i;
    EXPECT_LE(aspect, 4.0 / 3.0 + 0.01) << i;
    distinct += h != last_h;
    last_h = h;
  }
  EXPECT_GT(distinct, 150);
  o.variable_sizes = false;
  int h = 0, w = 0;
  synthetic_image_size(o, 7, &h, &w);
  EXPECT_EQ(h, 256);
  EXPECT_EQ(w, 256);
}

TEST(SyntheticImagesTest, JpegSizesLikePhotographsAndDeterministic) {
  JpegEncoder enc;
  HwcImage a, b;
  for (int i = 0; i < 4; ++i) {
    synthetic_image(3, i, 256, 256, &a);
    synthetic_image(3, i, 256, 256, &b);
    EXPECT_EQ(a.pixels, b.pixels) << i;
    std::string jpeg;
    ASSERT_TRUE(enc.encode(a, 90, &jpeg).ok());
    EXPECT_GE(jpeg.size(), 15u * 1024) << i;
    EXPECT_LE(jpeg.size(), 60u * 1024) << i;
  }
  synthetic_image(4, 0, 256, 256, &b);
  synthetic_image(3, 0, 256, 256, &a);
  EXPECT_NE(a.pixels, b.pixels);  // the seed matters
  // Not flat: the channel values spread widely.
  auto [lo, hi] = std::minmax_element(a.pixels.begin(), a.pixels.end());
  EXPECT_GT(*hi - *lo, 100);
}

TEST(SyntheticImagesTest, WritesAnLmdbOfLabelledJpegDatums) {
  std::string dir = ::testing::TempDir() + "banyan_synthetic_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/set";
  SyntheticImagesetOptions o;
  o.count = 5;
  o.size = 32;
  o.classes = 3;
  ASSERT_TRUE(write_synthetic_imageset(path, o, nullptr).ok());
  LmdbReader reader;
  ASSERT_TRUE(LmdbReader::open(path, &reader).ok());
  ASSERT_EQ(reader.size(), 5u);
  EXPECT_EQ(reader.key_at(4), "00000004");
  std::string value;
  ASSERT_TRUE(reader.get_at(2, &value).ok());
  DatumRecord r;
  ASSERT_TRUE(parse_datum(value, &r).ok());
  EXPECT_TRUE(r.encoded);
  EXPECT_GE(r.label, 0);
  EXPECT_LT(r.label, 3);
  JpegDecoder dec;
  int h = 0, w = 0, c = 0;
  ASSERT_TRUE(dec.read_header(r.data, &h, &w, &c).ok());
  EXPECT_EQ(h, 32);
  EXPECT_EQ(c, 3);
  o.quality = 0;
  EXPECT_EQ(write_synthetic_imageset(dir + "/bad", o, nullptr).code(),
            StatusCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace banyan
