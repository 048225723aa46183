// Elementwise kernels and float<->bf16 conversion against CPU loops on random
// inputs, outputs poisoned with NaN first.  Float results are compared to
// within 1 ulp (they are bitwise equal unless the host compiler fuses the
// CPU reference's multiply-adds); bf16 results exactly.
#include "cuda/elementwise.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <limits>

#include "engine/core/math.h"
#include "engine/exchange/wire.h"
#include "tests/cuda/cuda_test_util.h"

namespace banyan::cuda_testing {
namespace {

using cuda::Bf16;

// Distance in units in the last place between two finite floats.
int64_t ulps(float a, float b) {
  auto ordered = [](float f) {
    const int64_t u = bits_of(f);
    return (u & 0x80000000) ? -(u & 0x7fffffff) : u;
  };
  return std::llabs(ordered(a) - ordered(b));
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << "element " << i << " not written";
    ASSERT_LE(ulps(got[i], want[i]), 1) << "element " << i << ": " << got[i] << " vs " << want[i];
  }
}

std::vector<Bf16> to_bf16(const std::vector<float>& v) {
  std::vector<Bf16> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = bf16_round(v[i]);
  return out;
}

class ElementwiseTest : public GpuTest {
 protected:
  static constexpr int64_t kN = 100003;  // not a multiple of the block size
};

TEST_F(ElementwiseTest, FloatOpsMatchCpu) {
  const std::vector<float> x = random_floats(kN, 11), y = random_floats(kN, 12, -3.0f, 5.0f);
  {
    std::vector<float> want(kN);
    cpu_set(kN, 0.37f, want.data());
    cuda::DeviceBuffer d = poisoned(kN * sizeof(float));
    cuda::fill(kN, 0.37f, d.as<float>(), stream());
    expect_close(download<float>(d, kN), want);
  }
  {
    std::vector<float> want = x;
    cpu_scale(kN, -1.7f, want.data());
    cuda::DeviceBuffer d = upload(x);
    cuda::scale(kN, -1.7f, d.as<float>(), stream());
    expect_close(download<float>(d, kN), want);
  }
  {
    std::vector<float> want = y;
    cpu_axpy(kN, 0.3f, x.data(), want.data());
    cuda::DeviceBuffer dx = upload(x), dy = upload(y);
    cuda::axpy(kN, 0.3f, dx.as<float>(), dy.as<float>(), stream());
    expect_close(download<float>(dy, kN), want);
  }
  {
    std::vector<float> want(kN);
    for (int64_t i = 0; i < kN; ++i) want[i] = x[i] + y[i];
    cuda::DeviceBuffer dx = upload(x), dy = upload(y), dz = poisoned(kN * sizeof(float));
    cuda::add(kN, dx.as<float>(), dy.as<float>(), dz.as<float>(), stream());
    expect_close(download<float>(dz, kN), want);
    cuda::add(kN, dx.as<float>(), dy.as<float>(), dx.as<float>(), stream());  // in place
    expect_close(download<float>(dx, kN), want);
  }
  {
    std::vector<float> want(kN);
    for (int64_t i = 0; i < kN; ++i) want[i] = 2.5f * x[i];
    cuda::DeviceBuffer dx = upload(x), dy = poisoned(kN * sizeof(float));
    cuda::copy_scaled(kN, 2.5f, dx.as<float>(), dy.as<float>(), stream());
    expect_close(download<float>(dy, kN), want);
  }
}

TEST_F(ElementwiseTest, Bf16OpsMatchCpu) {
  const std::vector<Bf16> x = to_bf16(random_floats(kN, 21)),
                          y = to_bf16(random_floats(kN, 22, -3.0f, 5.0f));
  auto check = [&](const char* op, const cuda::DeviceBuffer& d, auto&& reference) {
    const std::vector<Bf16> got = download<Bf16>(d, kN);
    for (int64_t i = 0; i < kN; ++i) {
      const Bf16 want = bf16_round(reference(bf16_value(x[i]), bf16_value(y[i])));
      ASSERT_EQ(got[i], want) << op << " element " << i;
    }
  };
  cuda::DeviceBuffer d = poisoned(kN * sizeof(Bf16));
  cuda::fill(kN, 0.1f, d.as<Bf16>(), stream());
  check("fill", d, [](float, float) { return 0.1f; });

  d = upload(x);
  cuda::scale(kN, -1.7f, d.as<Bf16>(), stream());
  check("scale", d, [](float a, float) { return -1.7f * a; });

  cuda::DeviceBuffer dx = upload(x);
  d = upload(y);
  cuda::axpy(kN, 0.3f, dx.as<Bf16>(), d.as<Bf16>(), stream());
  check("axpy", d, [](float a, float b) {
    const volatile float p = 0.3f * a;  // volatile: no fused multiply-add on the host
    return b + p;
  });

  cuda::DeviceBuffer dy = upload(y);
  d = poisoned(kN * sizeof(Bf16));
  cuda::add(kN, dx.as<Bf16>(), dy.as<Bf16>(), d.as<Bf16>(), stream());
  check("add", d, [](float a, float b) { return a + b; });

  d = poisoned(kN * sizeof(Bf16));
  cuda::copy_scaled(kN, 2.5f, dx.as<Bf16>(), d.as<Bf16>(), stream());
  check("copy_scaled", d, [](float a, float) { return 2.5f * a; });
}

TEST_F(ElementwiseTest, Bf16RoundsToNearestEven) {
  std::vector<float> x = random_floats(kN, 31, -1000.0f, 1000.0f);
  const float specials[] = {0.0f,
                            -0.0f,
                            1.0f,
                            -2.5f,
                            float_of(0x3f808000u),  // 1 + 2^-8: a tie, even stays down (0x3f80)
                            float_of(0x3f818000u),  // a tie with odd lower bits: rounds up (0x3f82)
                            float_of(0x3f808001u),  // just above a tie: up
                            float_of(0x3f807fffu),  // just below a tie: down
                            std::numeric_limits<float>::max(),  // rounds to +inf
                            -std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::denorm_min(),
                            float_of(0x00018000u),  // subnormals
                            std::numeric_limits<float>::min()};
  std::copy(std::begin(specials), std::end(specials), x.begin());
  cuda::DeviceBuffer dx = upload(x), dy = poisoned(kN * sizeof(Bf16));
  cuda::float_to_bf16(kN, dx.as<float>(), dy.as<Bf16>(), stream());
  const std::vector<Bf16> got = download<Bf16>(dy, kN);
  for (int64_t i = 0; i < kN; ++i) {
    ASSERT_EQ(got[i], bf16_round(x[i])) << "element " << i << " = " << x[i];
  }
  EXPECT_EQ(got[4], 0x3f80);
  EXPECT_EQ(got[5], 0x3f82);
  EXPECT_EQ(got[8], 0x7f80);

  // Back to float: exact.
  cuda::DeviceBuffer back = poisoned(kN * sizeof(float));
  cuda::bf16_to_float(kN, dy.as<Bf16>(), back.as<float>(), stream());
  const std::vector<float> f = download<float>(back, kN);
  for (int64_t i = 0; i < kN; ++i) {
    ASSERT_EQ(bits_of(f[i]), static_cast<uint32_t>(got[i]) << 16) << "element " << i;
  }
}

TEST_F(ElementwiseTest, NanSurvivesConversion) {
  const std::vector<float> x = {std::numeric_limits<float>::quiet_NaN(), 1.0f};
  cuda::DeviceBuffer dx = upload(x), dy = poisoned(x.size() * sizeof(Bf16));
  cuda::DeviceBuffer out = poisoned(x.size() * sizeof(float));
  cuda::fill(1, 0.0f, out.as<float>(), stream());  // out[0] = 0, so NaN must come from x
  cuda::float_to_bf16(2, dx.as<float>(), dy.as<Bf16>(), stream());
  cuda::bf16_to_float(1, dy.as<Bf16>(), out.as<float>(), stream());
  EXPECT_TRUE(std::isnan(download<float>(out, 1)[0]));
}

// The GPU's 16-bit gradients for NCCL give the CPU's wire bits
// (engine/exchange/wire.h): FP16 rounds to nearest even, saturates at
// +-65504, flushes below 2^-25 to zero, keeps NaN; widening is exact.
TEST_F(ElementwiseTest, HalfConversionMatchesTheCpuWire) {
  std::vector<float> x = random_floats(kN, 17);
  for (float& v : x) v *= 100.0f;
  const float specials[] = {1.0f + std::ldexp(1.0f, -11),
                            1.0f + 3 * std::ldexp(1.0f, -11),
                            1e6f,
                            -1e30f,
                            std::numeric_limits<float>::infinity(),
                            1e-9f,
                            1e-6f,
                            -0.0f,
                            65504.0f,
                            65520.0f};
  std::copy(std::begin(specials), std::end(specials), x.begin());
  cuda::DeviceBuffer dx = upload(x), dy = poisoned(kN * sizeof(uint16_t));
  cuda::float_to_half_saturated(kN, dx.as<float>(), dy.as<uint16_t>(), stream());
  const std::vector<uint16_t> got = download<uint16_t>(dy, kN);
  for (int64_t i = 0; i < kN; ++i) {
    ASSERT_EQ(got[i], to_wire(x[i], WirePrecision::kFp16)) << "element " << i << " = " << x[i];
  }
  cuda::DeviceBuffer back = poisoned(kN * sizeof(float));
  cuda::half_to_float(kN, dy.as<uint16_t>(), back.as<float>(), stream());
  const std::vector<float> f = download<float>(back, kN);
  for (int64_t i = 0; i < kN; ++i) {
    ASSERT_EQ(bits_of(f[i]), bits_of(from_wire(got[i], WirePrecision::kFp16))) << "element " << i;
  }
  const std::vector<float> nan = {std::numeric_limits<float>::quiet_NaN()};
  cuda::DeviceBuffer dn = upload(nan), hn = poisoned(sizeof(uint16_t)), fn = poisoned(4);
  cuda::fill(1, 0.0f, fn.as<float>(), stream());
  cuda::float_to_half_saturated(1, dn.as<float>(), hn.as<uint16_t>(), stream());
  cuda::half_to_float(1, hn.as<uint16_t>(), fn.as<float>(), stream());
  EXPECT_TRUE(std::isnan(download<float>(fn, 1)[0]));
}

TEST_F(ElementwiseTest, ZeroLengthIsANoOp) {
  cuda::DeviceBuffer d = upload(std::vector<float>{4.0f});
  cuda::fill(0, 1.0f, d.as<float>(), stream());
  cuda::scale(0, 2.0f, d.as<float>(), stream());
  EXPECT_EQ(download<float>(d, 1)[0], 4.0f);
}

}  // namespace
}  // namespace banyan::cuda_testing
