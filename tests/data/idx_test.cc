// Tests of IDX reading (plain and gzipped, bad magic, truncation) and of the
// IDX -> LMDB conversion behind convert_mnist.
#include "data/idx.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/datum.h"
#include "data/lmdb.h"
#include "data/mnist.h"

namespace banyan {
namespace {

void big_endian(std::string* s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s->push_back(static_cast<char>((v >> shift) & 0xFF));
}

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "banyan_idx_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // count images of rows x cols with distinct, non-zero pixels.
  static std::string images_file(int count, int rows, int cols) {
    std::string s;
    big_endian(&s, kIdxImagesMagic);
    big_endian(&s, count);
    big_endian(&s, rows);
    big_endian(&s, cols);
    for (int i = 0; i < count * rows * cols; ++i) s.push_back(static_cast<char>(i * 13 % 255 + 1));
    return s;
  }
  static std::string labels_file(int count) {
    std::string s;
    big_endian(&s, kIdxLabelsMagic);
    big_endian(&s, count);
    for (int i = 0; i < count; ++i) s.push_back(static_cast<char>((i * 3 + 1) % 10));
    return s;
  }
  std::string write(const std::string& name, const std::string& bytes, bool gz) {
    std::string path = dir_ + "/" + name;
    if (gz) {
      gzFile f = gzopen(path.c_str(), "wb");
      EXPECT_NE(f, nullptr);
      EXPECT_EQ(gzwrite(f, bytes.data(), bytes.size()), static_cast<int>(bytes.size()));
      gzclose(f);
    } else {
      std::ofstream(path, std::ios::binary) << bytes;
    }
    return path;
  }

  std::string dir_;
};

TEST_F(IdxTest, ReadsPlainAndGzipped) {
  const std::string bytes = images_file(5, 4, 3);
  for (bool gz : {false, true}) {
    std::string path = write(gz ? "img.gz" : "img", bytes, gz);
    IdxImages images;
    ASSERT_TRUE(read_idx_images(path, &images).ok()) << path;
    EXPECT_EQ(images.count, 5);
    EXPECT_EQ(images.rows, 4);
    EXPECT_EQ(images.cols, 3);
    ASSERT_EQ(images.pixels.size(), 60u);
    for (int i = 0; i < 60; ++i) ASSERT_EQ(images.pixels[i], static_cast<uint8_t>(bytes[16 + i]));
  }
  std::vector<uint8_t> labels;
  ASSERT_TRUE(read_idx_labels(write("lab.gz", labels_file(5), true), &labels).ok());
  ASSERT_EQ(labels.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(labels[i], (i * 3 + 1) % 10);
}

TEST_F(IdxTest, BadMagicNamesFileAndValue) {
  IdxImages images;
  std::string path = write("labels_as_images", labels_file(4), false);
  Status s = read_idx_images(path, &images);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("magic 0x00000801"), std::string::npos) << s.message();
  std::vector<uint8_t> labels;
  s = read_idx_labels(write("images_as_labels.gz", images_file(2, 2, 2), true), &labels);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("0x00000803"), std::string::npos) << s.message();
}

TEST_F(IdxTest, TruncatedAndMissingFiles) {
  std::string bytes = images_file(6, 5, 5);
  for (bool gz : {false, true}) {
    std::string path = write(gz ? "cut.gz" : "cut", bytes.substr(0, bytes.size() - 7), gz);
    IdxImages images;
    Status s = read_idx_images(path, &images);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  }
  IdxImages images;
  Status s = read_idx_images(write("short_header", bytes.substr(0, 10), false), &images);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  s = read_idx_images(dir_ + "/absent.gz", &images);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("absent.gz"), std::string::npos) << s.message();
}

TEST_F(IdxTest, ConvertMnistWritesCaffeRecords) {
  const int n = 7, rows = 6, cols = 5;
  std::string images_bytes = images_file(n, rows, cols);
  std::string images = write("img.gz", images_bytes, true);
  std::string labels = write("lab", labels_file(n), false);
  std::string out = dir_ + "/lmdb";
  int64_t count = 0;
  ASSERT_TRUE(convert_mnist(images, labels, out, {}, &count).ok());
  EXPECT_EQ(count, n);
  LmdbReader r;
  ASSERT_TRUE(LmdbReader::open(out, &r).ok());
  ASSERT_EQ(r.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    char key[16];
    std::snprintf(key, sizeof(key), "%08d", i);
    EXPECT_EQ(r.key_at(i), key);
    std::string value;
    ASSERT_TRUE(r.get_at(i, &value).ok());
    DatumRecord d;
    ASSERT_TRUE(parse_datum(value, &d).ok());
    EXPECT_EQ(d.channels, 1);
    EXPECT_EQ(d.height, rows);
    EXPECT_EQ(d.width, cols);
    EXPECT_FALSE(d.encoded);
    EXPECT_EQ(d.label, (i * 3 + 1) % 10);
    EXPECT_EQ(d.data, images_bytes.substr(16 + i * rows * cols, rows * cols));
  }
  // An existing output is refused unless overwrite is set.
  Status s = convert_mnist(images, labels, out, {}, nullptr);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--overwrite"), std::string::npos) << s.message();
  ConvertMnistOptions o;
  o.overwrite = true;
  EXPECT_TRUE(convert_mnist(images, labels, out, o, nullptr).ok());
}

TEST_F(IdxTest, ConvertMnistRejectsCountMismatch) {
  std::string images = write("img", images_file(4, 2, 2), false);
  std::string labels = write("lab", labels_file(5), false);
  Status s = convert_mnist(images, labels, dir_ + "/lmdb", {}, nullptr);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("4 images"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("5 labels"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/lmdb"));
}

}  // namespace
}  // namespace banyan
