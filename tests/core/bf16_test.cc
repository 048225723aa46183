// bfloat16 host conversions: every BF16 value round-trips, rounding is to
// nearest with ties to even (checked against an exact rational reference),
// overflow goes to infinity, NaN stays NaN with its sign, signed zeros and
// subnormals keep their bits; the bulk forms equal the scalar ones.
#include "engine/core/bf16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace banyan {
namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

TEST(Bf16Test, EveryValueRoundTrips) {
  for (uint32_t b = 0; b <= 0xffffu; ++b) {
    const float f = from_bf16(static_cast<Bf16>(b));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(from_bf16(to_bf16(f)))) << b;
      continue;
    }
    ASSERT_EQ(to_bf16(f), b) << "bits " << b;
    ASSERT_EQ(bits(f) & 0xffffu, 0u);
  }
}

// The exact nearest BF16 value, ties to even, by comparing distances in
// double (every float and every BF16 value is a double exactly).
Bf16 reference(float f) {
  const uint32_t u = bits(f);
  const Bf16 down = static_cast<Bf16>(u >> 16);  // truncated toward zero
  const Bf16 up = static_cast<Bf16>(down + 1);   // next magnitude up
  const double d_down = std::fabs(static_cast<double>(f) - from_bf16(down));
  const double d_up = std::fabs(static_cast<double>(f) - from_bf16(up));
  if (d_down < d_up) return down;
  if (d_up < d_down) return up;
  return (down & 1u) == 0 ? down : up;
}

TEST(Bf16Test, RoundsToNearestTiesToEven) {
  // Named cases: 1 + 2^-8 is halfway between 1 and 1 + 2^-7: to 1 (even).
  EXPECT_EQ(round_bf16(1.0f + 0x1p-8f), 1.0f);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
  EXPECT_EQ(round_bf16(1.0f + 3 * 0x1p-8f), 1.0f + 0x1p-6f);
  EXPECT_EQ(round_bf16(1.0f + 0x1p-8f + 0x1p-20f), 1.0f + 0x1p-7f);  // just above half
  EXPECT_EQ(round_bf16(-1.0f - 0x1p-8f), -1.0f);
  // A sweep over exponents and mantissas (finite values below the overflow edge).
  uint32_t state = 12345;
  for (int i = 0; i < 200000; ++i) {
    state = state * 1664525u + 1013904223u;
    const uint32_t u = state & 0xfeffffffu;  // exponents up to 253: no overflow
    const float f = from_bits(u);
    if (!std::isfinite(f)) continue;
    ASSERT_EQ(to_bf16(f), reference(f)) << "float bits " << std::hex << u;
  }
}

TEST(Bf16Test, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(from_bf16(to_bf16(inf)), inf);
  EXPECT_EQ(from_bf16(to_bf16(-inf)), -inf);
  EXPECT_EQ(from_bf16(to_bf16(std::numeric_limits<float>::max())), inf);  // overflow
  EXPECT_EQ(to_bf16(3.3895314e38f), 0x7f7fu);                             // the largest finite
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(nan))));
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(-nan))));
  EXPECT_TRUE(std::signbit(from_bf16(to_bf16(-nan))));
  // A signalling NaN whose payload sits only in the low bits stays a NaN.
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(from_bits(0x7f800001u)))));
  EXPECT_EQ(to_bf16(0.0f), 0x0000u);
  EXPECT_EQ(to_bf16(-0.0f), 0x8000u);
  const float tiny = from_bits(0x00010000u);  // a subnormal BF16 holds exactly
  EXPECT_EQ(round_bf16(tiny), tiny);
  EXPECT_EQ(round_bf16(from_bits(0x00008000u)), 0.0f);  // half the smallest: to even (0)
  EXPECT_EQ(bits(round_bf16(from_bits(0x00018000u))), 0x00020000u);  // tie to even, up
}

TEST(Bf16Test, BulkFormsMatchScalar) {
  std::vector<float> x(1031);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37 * i) * std::ldexp(1.0, i % 40 - 20);
  std::vector<Bf16> b(x.size());
  to_bf16(x.data(), x.size(), b.data());
  std::vector<float> back(x.size()), rounded = x, acc(x.size(), 0.5f);
  from_bf16(b.data(), b.size(), back.data());
  round_bf16(rounded.data(), rounded.size());
  accumulate_rounded_bf16(x.data(), x.size(), acc.data());
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(b[i], to_bf16(x[i])) << i;
    ASSERT_EQ(back[i], round_bf16(x[i])) << i;
    ASSERT_EQ(rounded[i], back[i]) << i;
    ASSERT_EQ(acc[i], 0.5f + back[i]) << i;
    ASSERT_LE(std::fabs(back[i] - x[i]), kBf16Roundoff * std::fabs(x[i])) << i;
  }
}

}  // namespace
}  // namespace banyan
