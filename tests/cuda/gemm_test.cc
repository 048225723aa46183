// Row-major GEMM on cuBLAS against engine/core/math.h's cpu_gemm for every
// transpose combination and odd sizes, with beta = 0 over a NaN-poisoned C
// (must be ignored) and beta != 0; TF32 and bf16 inputs with looser bounds.
#include "cuda/gemm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "cuda/handles.h"
#include "engine/core/math.h"
#include "tests/cuda/cuda_test_util.h"

namespace banyan::cuda_testing {
namespace {

using cuda::Bf16;

struct Case {
  int M, N, K;
};
const Case kCases[] = {{1, 1, 1}, {37, 19, 23}, {64, 3, 129}, {5, 130, 7}};

class GemmTest : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::string error;
    ASSERT_TRUE(handle_.create(0, stream(), /*allow_tf32=*/false, &error)) << error;
  }

  cuda::CublasHandle handle_;
};

TEST_F(GemmTest, Fp32MatchesCpuForAllTransposes) {
  for (const Case& c : kCases) {
    for (int t = 0; t < 4; ++t) {
      for (float beta : {0.0f, 0.5f}) {
        const bool ta = (t & 1) != 0, tb = (t & 2) != 0;
        SCOPED_TRACE(::testing::Message() << "M=" << c.M << " N=" << c.N << " K=" << c.K
                                          << " ta=" << ta << " tb=" << tb << " beta=" << beta);
        const std::vector<float> a = random_floats(static_cast<size_t>(c.M) * c.K, 1 + t),
                                 b = random_floats(static_cast<size_t>(c.K) * c.N, 5 + t),
                                 c0 = random_floats(static_cast<size_t>(c.M) * c.N, 9 + t);
        std::vector<float> want = c0;
        cpu_gemm(ta, tb, c.M, c.N, c.K, 1.5f, a.data(), b.data(), beta, want.data());
        cuda::DeviceBuffer da = upload(a), db = upload(b);
        cuda::DeviceBuffer dc = beta == 0.0f ? poisoned(c0.size() * sizeof(float)) : upload(c0);
        cuda::gemm(handle_, ta, tb, c.M, c.N, c.K, 1.5f, da.as<float>(), db.as<float>(), beta,
                   dc.as<float>());
        const std::vector<float> got = download<float>(dc, want.size());
        const float tol = 2e-6f * static_cast<float>(c.K + 1);
        for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tol) << "i " << i;
      }
    }
  }
}

TEST_F(GemmTest, Tf32IsCloseToFp32) {
  handle_.set_allow_tf32(true);
  const Case c{48, 33, 200};
  const std::vector<float> a = random_floats(static_cast<size_t>(c.M) * c.K, 31),
                           b = random_floats(static_cast<size_t>(c.K) * c.N, 32);
  std::vector<float> want(static_cast<size_t>(c.M) * c.N);
  cpu_gemm(false, true, c.M, c.N, c.K, 1.0f, a.data(), b.data(), 0.0f, want.data());
  cuda::DeviceBuffer da = upload(a), db = upload(b), dc = poisoned(want.size() * sizeof(float));
  cuda::gemm(handle_, false, true, c.M, c.N, c.K, 1.0f, da.as<float>(), db.as<float>(), 0.0f,
             dc.as<float>());
  const std::vector<float> got = download<float>(dc, want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 3e-2f) << "i " << i;
}

TEST_F(GemmTest, Bf16InputsAccumulateInFp32) {
  for (int t = 0; t < 4; ++t) {
    const bool ta = (t & 1) != 0, tb = (t & 2) != 0;
    SCOPED_TRACE(::testing::Message() << "ta=" << ta << " tb=" << tb);
    const Case c{29, 41, 67};
    std::vector<Bf16> a16(static_cast<size_t>(c.M) * c.K), b16(static_cast<size_t>(c.K) * c.N);
    std::vector<float> a(a16.size()), b(b16.size());
    const std::vector<float> ra = random_floats(a.size(), 41 + t), rb = random_floats(b.size(), 45);
    for (size_t i = 0; i < a.size(); ++i) a[i] = bf16_value(a16[i] = bf16_round(ra[i]));
    for (size_t i = 0; i < b.size(); ++i) b[i] = bf16_value(b16[i] = bf16_round(rb[i]));
    std::vector<float> want(static_cast<size_t>(c.M) * c.N);
    cpu_gemm(ta, tb, c.M, c.N, c.K, 1.0f, a.data(), b.data(), 0.0f, want.data());

    cuda::DeviceBuffer da = upload(a16), db = upload(b16);
    cuda::DeviceBuffer c32 = poisoned(want.size() * sizeof(float));
    cuda::gemm_ex(handle_, ta, tb, c.M, c.N, c.K, 1.0f, da.data(), db.data(),
                  cuda::DataType::kBFloat16, 0.0f, c32.data(), cuda::DataType::kFloat32);
    const std::vector<float> got32 = download<float>(c32, want.size());
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got32[i], want[i], 1e-4f) << "i " << i;

    cuda::DeviceBuffer c16 = poisoned(want.size() * sizeof(Bf16));
    cuda::gemm_ex(handle_, ta, tb, c.M, c.N, c.K, 1.0f, da.data(), db.data(),
                  cuda::DataType::kBFloat16, 0.0f, c16.data(), cuda::DataType::kBFloat16);
    const std::vector<Bf16> got16 = download<Bf16>(c16, want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      // One bf16 rounding of the FP32 result: within half a bf16 ulp (2^-9 relative).
      ASSERT_NEAR(bf16_value(got16[i]), want[i], std::abs(want[i]) / 256.0f + 1e-4f) << "i " << i;
    }
  }
}

}  // namespace
}  // namespace banyan::cuda_testing
