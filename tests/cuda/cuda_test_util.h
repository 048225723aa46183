// Shared pieces of the cuda/ tests: a fixture that skips every test on
// machines without a usable GPU (CPU-only CI), owns a stream on device 0, and
// moves vectors to and from the device; random inputs that are never all
// zero; NaN poisoning of outputs before a kernel writes them.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/device_info.h"
#include "cuda/memory.h"
#include "cuda/stream.h"
#include "cuda/types.h"
#include "tests/common/gpu_skip.h"
#include "tests/common/layer_test_util.h"

namespace banyan::cuda_testing {

// Uniform floats in [lo, hi) from a counter-based stream (never all zero for
// lo < hi).
inline std::vector<float> random_floats(size_t n, uint64_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::vector<float> v(n);
  banyan::testing::fill_uniform(v.data(), static_cast<int64_t>(n), seed, lo, hi);
  return v;
}

// Every test of the suite derives from this: SetUp skips (the test body then
// does not run) unless a GPU is there; under BANYAN_REQUIRE_GPU=1 it fails
// instead (tests/common/gpu_skip.h).
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BANYAN_SKIP_WITHOUT_GPU();
    stream_ = cuda::Stream(0);
  }

  // A device buffer of `bytes`, filled with 0xFF bytes (NaN as float and bf16).
  cuda::DeviceBuffer poisoned(size_t bytes) {
    cuda::DeviceBuffer b;
    std::string error;
    EXPECT_TRUE(b.allocate(0, bytes, &error)) << error;
    if (!b.empty()) {
      std::vector<unsigned char> nan(bytes, 0xFF);
      cuda::copy_async(b.data(), nan.data(), bytes, stream_.get());
      stream_.synchronize();
    }
    return b;
  }

  template <typename T>
  cuda::DeviceBuffer upload(const std::vector<T>& host) {
    cuda::DeviceBuffer b = poisoned(host.size() * sizeof(T));
    cuda::copy_async(b.data(), host.data(), host.size() * sizeof(T), stream_.get());
    stream_.synchronize();
    return b;
  }

  // Waits for the stream, then copies the first n elements back.
  template <typename T>
  std::vector<T> download(const cuda::DeviceBuffer& b, size_t n) {
    std::vector<T> host(n);
    cuda::copy_async(host.data(), b.data(), n * sizeof(T), stream_.get());
    stream_.synchronize();
    return host;
  }

  cudaStream_t stream() const { return stream_.get(); }

  cuda::Stream stream_;
};

// Bit patterns, for exact comparisons that also hold for NaN and -0.
inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}
inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// CPU reference of float -> bf16, round to nearest even (NaN -> quiet NaN).
inline cuda::Bf16 bf16_round(float f) {
  const uint32_t u = bits_of(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<cuda::Bf16>((u >> 16) | 0x40u);
  const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<cuda::Bf16>((u + rounding) >> 16);
}
inline float bf16_value(cuda::Bf16 b) { return float_of(static_cast<uint32_t>(b) << 16); }

}  // namespace banyan::cuda_testing
