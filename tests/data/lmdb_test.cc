// Tests of the LMDB reader and writer: keys, values, batching, map growth,
// errors, and output-directory preparation.
#include "data/lmdb.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace banyan {
namespace {

class LmdbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "banyan_lmdb_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string value(int i, size_t bytes) {
    std::string v(bytes, '\0');
    for (size_t j = 0; j < bytes; ++j) v[j] = static_cast<char>('a' + (i * 7 + j) % 26);
    return v;
  }
  static std::string key(int i) {
    char k[16];
    std::snprintf(k, sizeof(k), "%08d", i);
    return k;
  }

  std::string dir_;
};

TEST_F(LmdbTest, WritesAndReadsByKeyPositionAndBatch) {
  const std::string path = dir_ + "/db";
  const int n = 2500;  // more than two commit batches, plus a remainder
  LmdbWriter w;
  ASSERT_TRUE(LmdbWriter::open(path, LmdbWriterOptions(), &w).ok());
  for (int i = n - 1; i >= 0; --i) ASSERT_TRUE(w.put(key(i), value(i, 10 + i % 7)).ok());
  ASSERT_TRUE(w.close().ok());

  LmdbReader r;
  ASSERT_TRUE(LmdbReader::open(path, &r).ok());
  ASSERT_EQ(r.size(), static_cast<size_t>(n));
  std::vector<std::string> keys = r.keys();
  for (int i = 0; i < n; ++i) ASSERT_EQ(keys[i], key(i));  // key order
  std::string v;
  ASSERT_TRUE(r.get(key(1234), &v).ok());
  EXPECT_EQ(v, value(1234, 10 + 1234 % 7));
  ASSERT_TRUE(r.get_at(17, &v).ok());
  EXPECT_EQ(v, value(17, 10 + 17 % 7));
  std::vector<std::string> values;
  ASSERT_TRUE(r.get_batch({2499, 0, 5, 5}, &values).ok());
  ASSERT_EQ(values.size(), 4u);
  EXPECT_EQ(values[0], value(2499, 10 + 2499 % 7));
  EXPECT_EQ(values[1], value(0, 10));
  EXPECT_EQ(values[2], values[3]);
  int seen = 0;
  ASSERT_TRUE(r.for_each([&](std::string_view k, std::string_view val) {
                 EXPECT_EQ(k, key(seen));
                 EXPECT_EQ(val, value(seen, 10 + seen % 7));
                 ++seen;
                 return Status::success();
               }).ok());
  EXPECT_EQ(seen, n);
  Status stop =
      r.for_each([](std::string_view, std::string_view) { return Status::data_loss("stop here"); });
  EXPECT_EQ(stop.message(), "stop here");
}

TEST_F(LmdbTest, MissingPathIsNotFound) {
  LmdbReader r;
  Status s = LmdbReader::open(dir_ + "/nope", &r);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "LMDB '" + dir_ + "/nope' not found");
  // A directory without data.mdb is not an LMDB either.
  s = LmdbReader::open(dir_, &r);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find(dir_), std::string::npos) << s.message();
}

TEST_F(LmdbTest, MissingKeyIsNotFound) {
  const std::string path = dir_ + "/db";
  LmdbWriter w;
  ASSERT_TRUE(LmdbWriter::open(path, LmdbWriterOptions(), &w).ok());
  ASSERT_TRUE(w.put("a", "1").ok());
  ASSERT_TRUE(w.close().ok());
  LmdbReader r;
  ASSERT_TRUE(LmdbReader::open(path, &r).ok());
  std::string v;
  Status s = r.get("b", &v);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("'b'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
}

TEST_F(LmdbTest, GrowsTheMapWhenFull) {
  const std::string path = dir_ + "/db";
  LmdbWriterOptions o;
  o.batch_size = 50;
  o.initial_map_bytes = 256 * 1024;
  LmdbWriter w;
  ASSERT_TRUE(LmdbWriter::open(path, o, &w).ok());
  const size_t first_map = w.map_bytes();
  const int n = 300;  // 300 x 8 KiB = 2.4 MiB, far over the initial map
  for (int i = 0; i < n; ++i) ASSERT_TRUE(w.put(key(i), value(i, 8192)).ok());
  EXPECT_GT(w.map_bytes(), first_map);
  ASSERT_TRUE(w.close().ok());
  LmdbReader r;
  ASSERT_TRUE(LmdbReader::open(path, &r).ok());
  ASSERT_EQ(r.size(), static_cast<size_t>(n));
  std::string v;
  ASSERT_TRUE(r.get_at(n - 1, &v).ok());
  EXPECT_EQ(v, value(n - 1, 8192));
}

TEST_F(LmdbTest, UncommittedPutsAreDiscardedWithoutClose) {
  const std::string path = dir_ + "/db";
  LmdbWriterOptions o;
  o.batch_size = 4;
  {
    LmdbWriter w;
    ASSERT_TRUE(LmdbWriter::open(path, o, &w).ok());
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(w.put(key(i), value(i, 5)).ok());
  }
  LmdbReader r;
  ASSERT_TRUE(LmdbReader::open(path, &r).ok());
  EXPECT_EQ(r.size(), 4u);  // one committed batch
}

TEST_F(LmdbTest, MovedReaderAndWriterKeepWorking) {
  const std::string path = dir_ + "/db";
  LmdbWriter w1;
  ASSERT_TRUE(LmdbWriter::open(path, LmdbWriterOptions(), &w1).ok());
  ASSERT_TRUE(w1.put("k", "v").ok());
  LmdbWriter w2 = std::move(w1);
  ASSERT_TRUE(w2.close().ok());
  LmdbReader r1;
  ASSERT_TRUE(LmdbReader::open(path, &r1).ok());
  LmdbReader r2(std::move(r1));
  EXPECT_EQ(r1.size(), 0u);
  std::string v;
  ASSERT_TRUE(r2.get("k", &v).ok());
  EXPECT_EQ(v, "v");
  EXPECT_EQ(r2.key_at(0), "k");
}

TEST_F(LmdbTest, PrepareNewLmdbRefusesOrEmpties) {
  const std::string path = dir_ + "/db";
  EXPECT_TRUE(prepare_new_lmdb(path, false).ok());  // nothing there
  LmdbWriter w;
  ASSERT_TRUE(LmdbWriter::open(path, LmdbWriterOptions(), &w).ok());
  ASSERT_TRUE(w.put("old", "1").ok());
  ASSERT_TRUE(w.close().ok());
  Status s = prepare_new_lmdb(path, false);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--overwrite"), std::string::npos) << s.message();
  ASSERT_TRUE(prepare_new_lmdb(path, true).ok());
  ASSERT_TRUE(LmdbWriter::open(path, LmdbWriterOptions(), &w).ok());
  ASSERT_TRUE(w.put("new", "2").ok());
  ASSERT_TRUE(w.close().ok());
  LmdbReader r;
  ASSERT_TRUE(LmdbReader::open(path, &r).ok());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r.key_at(0), "new");
  // A directory holding other files is never emptied.
  std::ofstream(dir_ + "/notes.txt") << "keep me";
  EXPECT_FALSE(prepare_new_lmdb(dir_, true).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/notes.txt"));
}

}  // namespace
}  // namespace banyan
