// Tests of the ImageData layer: a list of PNG and JPEG files written here,
// read in order with their labels (PNG pixels exact, BGR), resized to
// new_height x new_width or to the first image's size, gray with is_color
// false, cropped and mirrored like the Data layer, shuffled per epoch in
// TRAIN; list errors name file:line; a missing image is replaced or, with
// bad_record_fatal, reported naming its path.
#include "layers/image_data.h"

#include <gtest/gtest.h>
#include <png.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "data/jpeg.h"
#include "layers/registry.h"

namespace banyan {
namespace {

// Channel k (0 R, 1 G, 2 B) of pixel (y, x) of test image i (never zero).
uint8_t rgb_of(int i, int y, int x, int k) {
  return static_cast<uint8_t>(20 + 60 * k + 7 * y + 5 * x + 13 * i);
}

class ImageDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "banyan_image_data_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern + "/";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // An RGB (channels 3) or gray PNG of image i.
  void write_png(const std::string& name, int i, int h, int w, int channels = 3) {
    std::vector<uint8_t> px;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        for (int k = 0; k < channels; ++k) px.push_back(rgb_of(i, y, x, k));
      }
    }
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    image.width = w;
    image.height = h;
    image.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    ASSERT_TRUE(png_image_write_to_file(&image, (dir_ + name).c_str(), 0, px.data(), 0, nullptr));
  }
  void write_jpeg(const std::string& name, int i, int h, int w) {
    HwcImage img{h, w, 3, {}};
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        for (int k = 2; k >= 0; --k) img.pixels.push_back(rgb_of(i, y, x, k));  // BGR
      }
    }
    std::string bytes;
    JpegEncoder enc;
    ASSERT_TRUE(enc.encode(img, 97, &bytes).ok());
    std::ofstream(dir_ + name, std::ios::binary) << bytes;
  }
  std::string write_list(const std::string& text) {
    std::ofstream(dir_ + "list.txt") << text;
    return dir_ + "list.txt";
  }
  LayerConfig config(int batch) {
    LayerConfig c;
    c.name = "images";
    c.type = "ImageData";
    c.top = {"data", "label"};
    c.image_data.source = dir_ + "list.txt";
    c.image_data.root_folder = dir_;
    c.image_data.batch_size = batch;
    c.image_data.decode_threads = 2;
    return c;
  }

  std::string dir_;
};

struct ImageRun {
  explicit ImageRun(const LayerConfig& c) : layer(new_image_data_layer(c)), ctx(Device::cpu(), 3) {}
  Status setup() {
    BANYAN_RETURN_IF_ERROR(layer->setup({}, {&data, &label}));
    BANYAN_RETURN_IF_ERROR(data.allocate(Device::cpu()));
    return label.allocate(Device::cpu());
  }
  std::vector<int> run(Phase phase, int64_t it) {
    std::fill(data.data(), data.data() + data.count(), -7.0f);
    ctx.step().phase = phase;
    ctx.step().iteration = it;
    ctx.step().sample_base = it * data.dim(0);
    layer->forward({}, {&data, &label}, ctx);
    return std::vector<int>(label.data(), label.data() + label.count());
  }
  float at(int n, int c, int y, int x) const {
    return data.data()[((n * data.dim(1) + c) * data.dim(2) + y) * data.dim(3) + x];
  }
  std::unique_ptr<Layer> layer;
  WorkerContext ctx;
  Blob data{"data"}, label{"label"};
};

TEST_F(ImageDataTest, ReadsPngAndJpegInListOrder) {
  write_png("a.png", 0, 5, 6);
  std::filesystem::create_directory(dir_ + "sub dir");
  write_png("sub dir/b.png", 1, 5, 6);
  write_jpeg("c.jpg", 2, 5, 6);
  write_list("a.png 4\n\nsub dir/b.png 7\r\nc.jpg 9\n");
  ImageRun r(config(3));
  ASSERT_TRUE(r.setup().ok());
  EXPECT_EQ(r.data.shape(), (Shape{3, 3, 5, 6}));
  EXPECT_EQ(r.label.shape(), (Shape{3}));
  EXPECT_EQ(r.run(Phase::kTest, 0), (std::vector<int>{4, 7, 9}));
  for (int n = 0; n < 3; ++n) {
    for (int c = 0; c < 3; ++c) {  // BGR: channel c holds RGB channel 2 - c
      for (int y = 0; y < 5; ++y) {
        for (int x = 0; x < 6; ++x) {
          const float want = rgb_of(n, y, x, 2 - c);
          if (n < 2) {
            ASSERT_EQ(r.at(n, c, y, x), want) << n << c << y << x;
          } else {
            ASSERT_NEAR(r.at(n, c, y, x), want, 8.0) << "jpeg " << c << y << x;
          }
        }
      }
    }
  }
  EXPECT_EQ(r.run(Phase::kTest, 1), (std::vector<int>{4, 7, 9}));  // wraps around
}

TEST_F(ImageDataTest, ResizesGrayAndTransforms) {
  write_png("a.png", 0, 8, 8, 1);
  write_png("b.png", 1, 4, 6, 1);  // another size: resized to the first's
  write_list("a.png 0\nb.png 1\n");
  LayerConfig c = config(2);
  c.image_data.is_color = false;
  ImageRun gray(c);
  ASSERT_TRUE(gray.setup().ok());
  EXPECT_EQ(gray.data.shape(), (Shape{2, 1, 8, 8}));
  gray.run(Phase::kTest, 0);
  EXPECT_EQ(gray.at(0, 0, 3, 2), rgb_of(0, 3, 2, 0));
  c.image_data.new_height = 3;
  c.image_data.new_width = 5;
  ImageRun resized(c);
  ASSERT_TRUE(resized.setup().ok());
  EXPECT_EQ(resized.data.shape(), (Shape{2, 1, 3, 5}));
  // Crop, mean and scale as the Data layer: TEST takes the centre crop.
  c.image_data.new_height = c.image_data.new_width = 0;
  c.transform.crop_size = 4;
  c.transform.mean_value = {10.0f};
  c.transform.scale = 0.5f;
  ImageRun cropped(c);
  ASSERT_TRUE(cropped.setup().ok());
  EXPECT_EQ(cropped.data.shape(), (Shape{2, 1, 4, 4}));
  cropped.run(Phase::kTest, 0);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      EXPECT_EQ(cropped.at(0, 0, y, x), (rgb_of(0, y + 2, x + 2, 0) - 10.0f) * 0.5f);
    }
  }
}

TEST_F(ImageDataTest, ShuffleReadsEveryImageOncePerEpochInTrain) {
  std::string list;
  for (int i = 0; i < 9; ++i) {
    write_png(std::to_string(i) + ".png", i, 3, 3);
    list += std::to_string(i) + ".png " + std::to_string(i) + "\n";
  }
  write_list(list);
  LayerConfig c = config(3);
  c.image_data.shuffle = true;
  ImageRun r(c);
  ASSERT_TRUE(r.setup().ok());
  std::vector<int> epoch0, epoch1;
  for (int it = 0; it < 3; ++it) {
    for (int l : r.run(Phase::kTrain, it)) epoch0.push_back(l);
  }
  for (int it = 3; it < 6; ++it) {
    for (int l : r.run(Phase::kTrain, it)) epoch1.push_back(l);
  }
  std::vector<int> identity = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_NE(epoch0, identity);
  EXPECT_NE(epoch0, epoch1);
  std::sort(epoch0.begin(), epoch0.end());
  std::sort(epoch1.begin(), epoch1.end());
  EXPECT_EQ(epoch0, identity);
  EXPECT_EQ(epoch1, identity);
  EXPECT_EQ(r.run(Phase::kTest, 0), (std::vector<int>{0, 1, 2}));  // TEST: list order
}

TEST_F(ImageDataTest, ListErrorsNameFileAndLine) {
  write_png("a.png", 0, 3, 3);
  write_list("a.png 1\na.png\n");
  Status s = ImageRun(config(1)).setup();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("list.txt:2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("layer 'images'"), std::string::npos) << s.message();
  write_list("a.png one\n");
  s = ImageRun(config(1)).setup();
  EXPECT_NE(s.message().find("list.txt:1"), std::string::npos) << s.message();
  std::filesystem::remove(dir_ + "list.txt");
  EXPECT_EQ(ImageRun(config(1)).setup().code(), StatusCode::kNotFound);
  write_list("\n\n");
  EXPECT_NE(ImageRun(config(1)).setup().message().find("lists no image"), std::string::npos);
  write_list("missing.png 1\na.png 2\n");  // the first image sets the shape
  s = ImageRun(config(1)).setup();
  EXPECT_NE(s.message().find(dir_ + "missing.png"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("does not exist"), std::string::npos) << s.message();
  write_list("a.png 1\n");
  LayerConfig c = config(1);
  c.transform.crop_size = 4;  // larger than 3 x 3
  EXPECT_FALSE(ImageRun(c).setup().ok());
  c = config(2);
  c.image_data.new_height = 3;  // new_width 0
  EXPECT_FALSE(ImageRun(c).setup().ok());
}

TEST_F(ImageDataTest, MissingImageIsReplacedOrStopsNamingItsPath) {
  write_png("a.png", 0, 3, 3);
  write_png("c.png", 2, 3, 3);
  write_list("a.png 0\nb.png 1\nc.png 2\n");
  ImageRun r(config(3));
  ASSERT_TRUE(r.setup().ok());
  EXPECT_EQ(r.run(Phase::kTest, 0), (std::vector<int>{0, 2, 2}));  // b: the next in order
  EXPECT_FALSE(r.ctx.has_error());
  LayerConfig c = config(3);
  c.image_data.bad_record_fatal = true;
  ImageRun fatal(c);
  ASSERT_TRUE(fatal.setup().ok());
  fatal.run(Phase::kTest, 0);
  Status e = fatal.ctx.take_error();
  EXPECT_EQ(e.code(), StatusCode::kDataLoss);
  for (const std::string part :
       std::vector<std::string>{"layer 'images'", dir_ + "b.png", "list.txt:2"}) {
    EXPECT_NE(e.message().find(part), std::string::npos) << part << " in " << e.message();
  }
  // A file that is no image is bad the same way.
  std::ofstream(dir_ + "b.png") << "not an image";
  ImageRun junk(c);
  ASSERT_TRUE(junk.setup().ok());
  junk.run(Phase::kTest, 0);
  e = junk.ctx.take_error();
  EXPECT_NE(e.message().find("not a JPEG or PNG"), std::string::npos) << e.message();
}

}  // namespace
}  // namespace banyan
