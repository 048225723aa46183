// Tests of the TurboJPEG wrappers: encode/decode fidelity on smooth images,
// colour modes, and DataLoss for truncated or foreign buffers.
#include "data/jpeg.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

namespace banyan {
namespace {

// A smooth BGR (or gray) gradient; never all zero.
HwcImage smooth(int h, int w, int c) {
  HwcImage img;
  img.height = h;
  img.width = w;
  img.channels = c;
  img.pixels.resize(static_cast<size_t>(h) * w * c);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int k = 0; k < c; ++k) {
        double v = 50 + 50 * k + 60.0 * y / h + 40.0 * std::sin(0.1 * x + 0.5 * k);
        img.pixels[(static_cast<size_t>(y) * w + x) * c + k] = static_cast<uint8_t>(v);
      }
    }
  }
  return img;
}

double psnr(const HwcImage& a, const HwcImage& b) {
  double se = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    double d = static_cast<double>(a.pixels[i]) - b.pixels[i];
    se += d * d;
  }
  double mse = se / a.pixels.size();
  return 10.0 * std::log10(255.0 * 255.0 / std::max(mse, 1e-12));
}

int max_abs_diff(const HwcImage& a, const HwcImage& b) {
  int m = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) m = std::max(m, std::abs(a.pixels[i] - b.pixels[i]));
  return m;
}

TEST(JpegTest, ColourRoundTripIsClose) {
  HwcImage src = smooth(48, 64, 3);
  JpegEncoder enc;
  std::string jpeg;
  ASSERT_TRUE(enc.encode(src, 95, &jpeg).ok());
  EXPECT_LT(jpeg.size(), src.pixels.size());
  JpegDecoder dec;
  int h = 0, w = 0, c = 0;
  ASSERT_TRUE(dec.read_header(jpeg, &h, &w, &c).ok());
  EXPECT_EQ(h, 48);
  EXPECT_EQ(w, 64);
  EXPECT_EQ(c, 3);
  HwcImage out;
  ASSERT_TRUE(dec.decode(jpeg, JpegColor::kNative, &out).ok());
  ASSERT_EQ(out.channels, 3);
  ASSERT_EQ(out.pixels.size(), src.pixels.size());
  EXPECT_GT(psnr(src, out), 38.0);
  EXPECT_LE(max_abs_diff(src, out), 12);
  // Lower quality is smaller and less faithful.
  std::string small;
  ASSERT_TRUE(enc.encode(src, 20, &small).ok());
  EXPECT_LT(small.size(), jpeg.size());
  HwcImage rough;
  ASSERT_TRUE(dec.decode(small, JpegColor::kBgr, &rough).ok());
  EXPECT_LT(psnr(src, rough), psnr(src, out));
}

TEST(JpegTest, ChannelOrderIsBgr) {
  // Pure blue in BGR order is (255, 0, 0); decoded it must stay in byte 0.
  HwcImage src;
  src.height = src.width = 16;
  src.channels = 3;
  for (int i = 0; i < 256; ++i) src.pixels.insert(src.pixels.end(), {250, 10, 10});
  JpegEncoder enc;
  std::string jpeg;
  ASSERT_TRUE(enc.encode(src, 95, &jpeg).ok());
  JpegDecoder dec;
  HwcImage out;
  ASSERT_TRUE(dec.decode(jpeg, JpegColor::kBgr, &out).ok());
  EXPECT_GT(out.pixels[0], 200);
  EXPECT_LT(out.pixels[2], 60);
}

TEST(JpegTest, GrayAndColourModes) {
  HwcImage gray = smooth(20, 30, 1);
  JpegEncoder enc;
  std::string jpeg;
  ASSERT_TRUE(enc.encode(gray, 95, &jpeg).ok());
  JpegDecoder dec;
  HwcImage native, bgr;
  ASSERT_TRUE(dec.decode(jpeg, JpegColor::kNative, &native).ok());
  EXPECT_EQ(native.channels, 1);
  EXPECT_LE(max_abs_diff(gray, native), 8);
  ASSERT_TRUE(dec.decode(jpeg, JpegColor::kBgr, &bgr).ok());
  ASSERT_EQ(bgr.channels, 3);
  for (size_t i = 0; i < native.pixels.size(); ++i) {
    ASSERT_EQ(bgr.pixels[3 * i], native.pixels[i]);
    ASSERT_EQ(bgr.pixels[3 * i + 2], native.pixels[i]);
  }
  // A colour JPEG decoded to gray gives its luma.
  HwcImage colour = smooth(20, 30, 3);
  ASSERT_TRUE(enc.encode(colour, 95, &jpeg).ok());
  HwcImage luma;
  ASSERT_TRUE(dec.decode(jpeg, JpegColor::kGray, &luma).ok());
  ASSERT_EQ(luma.channels, 1);
  for (size_t i = 0; i < luma.pixels.size(); ++i) {
    double y = 0.114 * colour.pixels[3 * i] + 0.587 * colour.pixels[3 * i + 1] +
               0.299 * colour.pixels[3 * i + 2];
    ASSERT_NEAR(luma.pixels[i], y, 8.0) << "pixel " << i;
  }
}

TEST(JpegTest, TruncatedOrForeignBuffersAreDataLoss) {
  HwcImage src = smooth(96, 128, 3);
  JpegEncoder enc;
  std::string jpeg;
  ASSERT_TRUE(enc.encode(src, 90, &jpeg).ok());
  JpegDecoder dec;
  HwcImage out;
  // Cut inside the entropy-coded data: the header parses, the scan ends early.
  Status s =
      dec.decode(std::string_view(jpeg).substr(0, jpeg.size() * 9 / 10), JpegColor::kBgr, &out);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("corrupt JPEG"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Premature end"), std::string::npos) << s.message();
  // Cut inside the header.
  for (size_t keep : {size_t{20}, size_t{200}}) {
    s = dec.decode(jpeg.substr(0, keep), JpegColor::kBgr, &out);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << keep;
  }
  s = dec.decode("\x89PNG\r\n\x1a\n not a jpeg at all", JpegColor::kNative, &out);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("Not a JPEG file"), std::string::npos) << s.message();
  // The decoder still works after errors.
  ASSERT_TRUE(dec.decode(jpeg, JpegColor::kBgr, &out).ok());
  EXPECT_GT(psnr(src, out), 35.0);
}

// A header claiming 60000 x 60000 (a valid JPEG with its SOF size patched)
// is refused before anything is allocated for it.
TEST(JpegTest, HugeClaimedSizeIsRefusedBeforeDecoding) {
  JpegEncoder enc;
  std::string jpeg;
  ASSERT_TRUE(enc.encode(smooth(16, 16, 3), 90, &jpeg).ok());
  size_t sof = std::string::npos;
  for (size_t i = 2; i + 9 < jpeg.size(); ++i) {
    const auto m = static_cast<uint8_t>(jpeg[i + 1]);
    if (static_cast<uint8_t>(jpeg[i]) == 0xff && (m == 0xc0 || m == 0xc1 || m == 0xc2)) {
      sof = i;
      break;
    }
  }
  ASSERT_NE(sof, std::string::npos);
  for (size_t at : {sof + 5, sof + 7}) {  // height, width (big-endian)
    jpeg[at] = static_cast<char>(60000 >> 8);
    jpeg[at + 1] = static_cast<char>(60000 & 0xff);
  }
  JpegDecoder dec;
  int h = 0, w = 0, c = 0;
  Status s = dec.read_header(jpeg, &h, &w, &c);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("60000x60000 is larger than the 134217728-pixel limit"),
            std::string::npos)
      << s.message();
  HwcImage out;
  EXPECT_EQ(dec.decode(jpeg, JpegColor::kBgr, &out).code(), StatusCode::kDataLoss);
  EXPECT_TRUE(out.pixels.empty());
}

TEST(JpegTest, EncodeRejectsBadImages) {
  JpegEncoder enc;
  std::string jpeg;
  HwcImage two = smooth(4, 4, 2);
  EXPECT_EQ(enc.encode(two, 90, &jpeg).code(), StatusCode::kInvalidArgument);
  HwcImage ok = smooth(4, 4, 3);
  EXPECT_EQ(enc.encode(ok, 0, &jpeg).code(), StatusCode::kInvalidArgument);
  ok.pixels.pop_back();
  EXPECT_EQ(enc.encode(ok, 90, &jpeg).code(), StatusCode::kInvalidArgument);
}

TEST(JpegTest, MovedHandlesWork) {
  JpegEncoder e1;
  JpegEncoder e2 = std::move(e1);
  JpegDecoder d1;
  JpegDecoder d2(std::move(d1));
  std::string jpeg;
  ASSERT_TRUE(e2.encode(smooth(8, 8, 3), 90, &jpeg).ok());
  HwcImage out;
  EXPECT_TRUE(d2.decode(jpeg, JpegColor::kNative, &out).ok());
}

}  // namespace
}  // namespace banyan
