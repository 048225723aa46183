// WorkerContext device set-up and the synchronous host/device copies: on a
// machine without a usable GPU (or a build without CUDA) a CUDA worker is
// refused with a message naming the device; with one, buffers round-trip.
#include "engine/core/context.h"

#include <gtest/gtest.h>

#include <vector>

#include "engine/core/tensor.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

TEST(WorkerContextTest, CpuNeedsNoDeviceSetup) {
  WorkerContext ctx(Device::cpu(), 1);
  EXPECT_TRUE(ctx.init_device().ok());
  EXPECT_FALSE(ctx.has_gpu());
}

TEST(WorkerContextTest, CudaWorkerIsCreatedOrRefusedByName) {
  WorkerContext ctx(Device::cuda(0), 1);
  Status s = ctx.init_device();
  if (!s.ok()) {
    EXPECT_FALSE(ctx.has_gpu());
    EXPECT_NE(s.message().find("cuda:0"), std::string::npos) << s.message();
    if (testing::gpu_required()) FAIL() << "BANYAN_REQUIRE_GPU=1 but: " << s.message();
    GTEST_SKIP() << "no usable GPU: " << s.message();
  }
  ASSERT_TRUE(ctx.has_gpu());
  Buffer b;
  ASSERT_TRUE(Buffer::allocate(Device::cuda(0), 1000 * sizeof(float), &b).ok());
  std::vector<float> in(1000), out(1000, -1.0f);
  for (int i = 0; i < 1000; ++i) in[i] = 0.5f * i - 7.0f;
  float* dev = static_cast<float*>(b.data());
  ASSERT_TRUE(copy_to_device(in.data(), 1000, Device::cuda(0), dev).ok());
  ASSERT_TRUE(copy_to_host(dev, 1000, Device::cuda(0), out.data()).ok());
  EXPECT_EQ(in, out);
}

TEST(WorkerContextTest, NoSuchDeviceIsAnError) {
  WorkerContext ctx(Device::cuda(4096), 1);
  Status s = ctx.init_device();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cuda:4096"), std::string::npos) << s.message();
}

TEST(CopyTest, CpuCopiesAreMemcpy) {
  std::vector<float> a = {1.0f, -2.0f, 3.5f}, b(3, 0.0f), c(3, 0.0f);
  ASSERT_TRUE(copy_to_device(a.data(), 3, Device::cpu(), b.data()).ok());
  ASSERT_TRUE(copy_to_host(b.data(), 3, Device::cpu(), c.data()).ok());
  EXPECT_EQ(a, c);
}

}  // namespace
}  // namespace banyan
