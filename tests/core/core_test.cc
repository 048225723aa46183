// Tests of engine/core: shapes, device lists, status, counter-based randomness.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "engine/core/device.h"
#include "engine/core/random.h"
#include "engine/core/shape.h"
#include "engine/core/status.h"
#include "engine/core/tensor.h"

namespace banyan {
namespace {

TEST(ShapeTest, CountsAndAxes) {
  Shape s{2, 3, 4, 5};
  EXPECT_EQ(s.count(), 120);
  EXPECT_EQ(s.count(1), 60);
  EXPECT_EQ(s.count(1, 3), 12);
  EXPECT_EQ(s.dim(-1), 5);
  EXPECT_EQ(s.canonical_axis(-2), 2);
  EXPECT_FALSE(s.valid_axis(4));
  EXPECT_EQ(s.to_string(), "(2, 3, 4, 5)");
}

TEST(DeviceTest, ParsesListsWithRepeats) {
  std::vector<Device> d;
  ASSERT_TRUE(parse_device_list("0,0,cpu,3", &d).ok());
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0], Device::cuda(0));
  EXPECT_EQ(d[1], Device::cuda(0));
  EXPECT_TRUE(d[2].is_cpu());
  EXPECT_EQ(d[3].to_string(), "cuda:3");
  ASSERT_TRUE(parse_device_list("", &d).ok());
  EXPECT_EQ(d.size(), 1u);
}

TEST(DeviceTest, RejectsBadEntries) {
  std::vector<Device> d;
  Status s = parse_device_list("0,gpu1", &d);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'gpu1'"), std::string::npos) << s.message();
  EXPECT_FALSE(parse_device_list("0,,1", &d).ok());
  EXPECT_FALSE(parse_device_list("-1", &d).ok());
  EXPECT_FALSE(parse_device_list("1,", &d).ok());
}

TEST(StatusTest, ContextAndNames) {
  Status s = Status::not_found("no file x").with_context("loading solver");
  EXPECT_EQ(s.to_string(), "NotFound: loading solver: no file x");
  EXPECT_TRUE(Status::success().with_context("x").ok());
}

TEST(RandomTest, PhiloxKnownAnswer) {
  // Known-answer vectors of the Random123 reference for philox4x32-10:
  // counter 0, key 0 and counter all-ones, key all-ones.
  PhiloxBits z = philox(0, 0, 0);
  EXPECT_EQ(z.v[0], 0x6627e8d5u);
  EXPECT_EQ(z.v[1], 0xe169c58du);
  EXPECT_EQ(z.v[2], 0xbc57ac4cu);
  EXPECT_EQ(z.v[3], 0x9b00dbd8u);
  PhiloxBits f = philox(~0ull, ~0ull, ~0ull);
  EXPECT_EQ(f.v[0], 0x408f276du);
  EXPECT_EQ(f.v[1], 0x41c83b0eu);
  EXPECT_EQ(f.v[2], 0xa20bc7c6u);
  EXPECT_EQ(f.v[3], 0x6d5451fdu);
}

TEST(RandomTest, UniformAndNormalMoments) {
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0;
  uint64_t key = key_for(7, "moments");
  for (int i = 0; i < n; ++i) {
    float u = uniform_at(key, 0, i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    su += u;
    float z = normal_at(key, 1, i);
    ASSERT_TRUE(std::isfinite(z));
    sn += z;
    sn2 += z * z;
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
  EXPECT_NE(key_for(7, "a"), key_for(7, "b"));
  EXPECT_NE(key_for(7, "a"), key_for(8, "a"));
}

TEST(ShapeTest, CheckedCountRefusesNegativeAndOverflowingShapes) {
  int64_t n = -1;
  EXPECT_TRUE(checked_count({2, 3, 4}, &n));
  EXPECT_EQ(n, 24);
  EXPECT_TRUE(checked_count({}, &n));
  EXPECT_EQ(n, 1);
  EXPECT_TRUE(checked_count({5, 0, int64_t{1} << 62}, &n));
  EXPECT_EQ(n, 0);
  n = 7;
  EXPECT_FALSE(checked_count({2, -1}, &n));
  EXPECT_FALSE(checked_count({int64_t{1} << 32, int64_t{1} << 31}, &n));
  EXPECT_FALSE(checked_count({int64_t{1} << 62, 2}, &n));
  EXPECT_EQ(n, 7);  // untouched on failure
  EXPECT_TRUE(checked_count({int64_t{1} << 62, 1}, &n));
}

TEST(TensorTest, BlobAllocateAndShapes) {
  Blob b("x");
  b.set_shape(Shape{2, 3});
  ASSERT_TRUE(b.allocate(Device::cpu()).ok());
  EXPECT_TRUE(b.bound());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(b.data()[i], 0.0f);
  b.data()[5] = 1.0f;
  b.diff()[5] = 2.0f;
  EXPECT_EQ(b.data_tensor().f32()[5], 1.0f);
  EXPECT_EQ(b.diff_tensor().count(), 6);
}

}  // namespace
}  // namespace banyan
