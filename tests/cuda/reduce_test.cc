// Deterministic reductions against double CPU sums, for sizes around and far
// beyond the fixed grid, plus bitwise repeatability and the empty array.
#include "cuda/reduce.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <utility>

#include "tests/cuda/cuda_test_util.h"

namespace banyan::cuda_testing {
namespace {

class ReduceTest : public GpuTest {
 protected:
  // {sum, sum of squares} on the device.
  std::pair<double, double> device_sums(const cuda::DeviceBuffer& x, int64_t n) {
    cuda::DeviceBuffer partials = poisoned(cuda::kReducePartials * sizeof(double));
    cuda::DeviceBuffer result = poisoned(2 * sizeof(double));
    cuda::sum(n, x.as<float>(), partials.as<double>(), result.as<double>(), stream());
    cuda::sum_squares(n, x.as<float>(), partials.as<double>(), result.as<double>() + 1, stream());
    const std::vector<double> r = download<double>(result, 2);
    return {r[0], r[1]};
  }
};

TEST_F(ReduceTest, MatchesDoubleSums) {
  for (int64_t n : {int64_t{1}, int64_t{255}, int64_t{65537}, int64_t{(1 << 22) + 3}}) {
    const std::vector<float> x = random_floats(static_cast<size_t>(n), 50 + n, -2.0f, 3.0f);
    double sum = 0.0, squares = 0.0;
    for (float v : x) {
      sum += v;
      squares += static_cast<double>(v) * v;
    }
    cuda::DeviceBuffer d = upload(x);
    const auto [got_sum, got_squares] = device_sums(d, n);
    EXPECT_NEAR(got_sum, sum, 1e-12 * (std::abs(sum) + n)) << "n = " << n;
    EXPECT_NEAR(got_squares, squares, 1e-12 * squares) << "n = " << n;
  }
}

TEST_F(ReduceTest, BitwiseRepeatable) {
  const int64_t n = 3'000'001;
  cuda::DeviceBuffer d = upload(random_floats(static_cast<size_t>(n), 61, -1e3f, 1e3f));
  const auto first = device_sums(d, n);
  for (int run = 0; run < 3; ++run) {
    const auto again = device_sums(d, n);
    EXPECT_EQ(std::memcmp(&first.first, &again.first, sizeof(double)), 0);
    EXPECT_EQ(std::memcmp(&first.second, &again.second, sizeof(double)), 0);
  }
}

TEST_F(ReduceTest, EmptyArraySumsToZero) {
  cuda::DeviceBuffer d = upload(std::vector<float>{1.0f});
  const auto [s, q] = device_sums(d, 0);
  EXPECT_EQ(s, 0.0);
  EXPECT_EQ(q, 0.0);
}

}  // namespace
}  // namespace banyan::cuda_testing
