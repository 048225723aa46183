// 16-bit gradients on the wire (exchange_precision): rounding to nearest
// even, FP16 saturation and underflow, NaN kept, and a reduction over
// three simulated processes against the rounding bound.
#include "engine/exchange/wire.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "engine/core/random.h"

namespace banyan {
namespace {

constexpr WirePrecision kBf16 = WirePrecision::kBf16;
constexpr WirePrecision kFp16 = WirePrecision::kFp16;

float round_trip(float x, WirePrecision w) { return from_wire(to_wire(x, w), w); }

TEST(WireTest, RoundsToNearestEven) {
  // BF16 keeps 8 significant bits: 1 + 2^-8 is halfway between 1 and
  // 1 + 2^-7 and goes to the even one (1); 1 + 3 * 2^-8 goes up to 1 + 2^-6.
  EXPECT_EQ(round_trip(1.0f + std::ldexp(1.0f, -8), kBf16), 1.0f);
  EXPECT_EQ(round_trip(1.0f + 3 * std::ldexp(1.0f, -8), kBf16), 1.0f + std::ldexp(1.0f, -6));
  // FP16 keeps 11: the same at 2^-11.
  EXPECT_EQ(round_trip(1.0f + std::ldexp(1.0f, -11), kFp16), 1.0f);
  EXPECT_EQ(round_trip(1.0f + 3 * std::ldexp(1.0f, -11), kFp16), 1.0f + std::ldexp(1.0f, -9));
  EXPECT_EQ(to_wire(1.0f, kFp16), 0x3c00);
  EXPECT_EQ(to_wire(1.0f, kBf16), 0x3f80);
  EXPECT_EQ(to_wire(-2.0f, kFp16), 0xc000);
}

TEST(WireTest, Fp16SaturatesAndUnderflowsBf16KeepsTheRange) {
  EXPECT_EQ(round_trip(1e6f, kFp16), 65504.0f);
  EXPECT_EQ(round_trip(-1e30f, kFp16), -65504.0f);
  EXPECT_EQ(round_trip(std::numeric_limits<float>::infinity(), kFp16), 65504.0f);
  EXPECT_EQ(round_trip(1e-9f, kFp16), 0.0f);  // below half the smallest subnormal (2^-24)
  EXPECT_NEAR(round_trip(1e-6f, kFp16), 1e-6f, std::ldexp(1.0f, -25));  // a subnormal
  EXPECT_NEAR(round_trip(1e30f, kBf16), 1e30f, 1e30f / 256);
  EXPECT_NEAR(round_trip(1e-30f, kBf16), 1e-30f, 1e-30f / 256);
  EXPECT_TRUE(std::isnan(round_trip(std::nanf(""), kFp16)));
  EXPECT_TRUE(std::isnan(round_trip(std::nanf(""), kBf16)));
}

// Every finite half converts to a float and back to itself, and a value
// halfway between two neighbouring halves rounds to the one with an even
// mantissa (covers subnormals, the normal/subnormal edge and the top binade).
TEST(WireTest, EveryFp16ValueRoundTripsAndTiesGoToEven) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00) continue;  // infinities and NaNs
    const float x = from_wire(static_cast<uint16_t>(h), kFp16);
    ASSERT_EQ(to_wire(x, kFp16), h) << std::hex << h;
    const uint32_t next = h + 1;
    if ((h & 0x7fff) == 0x7bff || (next & 0x7c00) == 0x7c00) continue;
    const float mid = 0.5f * (x + from_wire(static_cast<uint16_t>(next), kFp16));
    ASSERT_EQ(to_wire(mid, kFp16), (h & 1) == 0 ? h : next) << std::hex << h;
  }
}

TEST(WireTest, BulkFormsMatchTheScalarOnes) {
  std::vector<float> x(1000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = normal_at(7, i, 0) * 10.0f;
  for (WirePrecision w : {kBf16, kFp16}) {
    std::vector<uint16_t> bits(x.size());
    to_wire(x.data(), x.size(), w, bits.data());
    std::vector<float> back(x.size());
    from_wire(bits.data(), bits.size(), w, back.data());
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(bits[i], to_wire(x[i], w)) << i;
      ASSERT_EQ(back[i], from_wire(bits[i], w)) << i;
    }
  }
}

// Three processes' gradients reduced the way MPI applies the operation
// (((a + b) rounded) + c) rounded: the result is exactly that, and within
// the bound of three roundings of partial sums no larger than
// sum(|x|): |result - exact| <= 3 u sum(|x|) (plus the inputs' roundings).
TEST(WireTest, ReductionRoundsEveryAdditionAndStaysWithinTheBound) {
  const size_t n = 4096;
  std::vector<std::vector<float>> procs(3, std::vector<float>(n));
  for (size_t p = 0; p < 3; ++p) {
    for (size_t i = 0; i < n; ++i) procs[p][i] = normal_at(11, i, p) * 0.01f;
  }
  for (WirePrecision w : {kBf16, kFp16}) {
    const double u = w == kBf16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
    std::vector<uint16_t> acc(n), in(n);
    to_wire(procs[0].data(), n, w, acc.data());
    for (size_t p = 1; p < 3; ++p) {
      to_wire(procs[p].data(), n, w, in.data());
      add_on_wire(in.data(), acc.data(), n, w);
    }
    double worst = 0.0;
    for (size_t i = 0; i < n; ++i) {
      float expect = round_trip(procs[0][i], w);
      expect = round_trip(expect + round_trip(procs[1][i], w), w);
      expect = round_trip(expect + round_trip(procs[2][i], w), w);
      ASSERT_EQ(from_wire(acc[i], w), expect) << i;
      const double exact = double(procs[0][i]) + procs[1][i] + procs[2][i];
      const double mag = std::fabs(procs[0][i]) + std::fabs(procs[1][i]) + std::fabs(procs[2][i]);
      const double err = std::fabs(from_wire(acc[i], w) - exact);
      ASSERT_LE(err, 5 * u * mag + 2e-7) << wire_precision_name(w) << " " << i;
      worst = std::max(worst, err / (mag + 1e-30));
    }
    EXPECT_GT(worst, 0.0) << "16-bit sums must differ from the exact ones somewhere";
  }
}

TEST(WireTest, Names) {
  EXPECT_STREQ(wire_precision_name(WirePrecision::kFloat32), "FP32");
  EXPECT_STREQ(wire_precision_name(kBf16), "BF16");
  EXPECT_STREQ(wire_precision_name(kFp16), "FP16");
}

}  // namespace
}  // namespace banyan
