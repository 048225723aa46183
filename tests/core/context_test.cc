// WorkerContext device set-up and the synchronous host/device copies: on a
// machine without a usable GPU (or a build without CUDA) a CUDA worker is
// refused with a message naming the device; with one, buffers round-trip.
#ifdef BANYAN_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "engine/core/context.h"
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

#ifdef BANYAN_WITH_CUDA
// The synchronous helpers are complete when they return, also for
// non-blocking streams (which do not wait for the legacy stream): a large
// pageable upload read back at once on such a stream must hold the new
// values, and the zero fill of an allocation must not land after a kernel
// on such a stream has written the buffer.
TEST(CopyTest, SynchronousHelpersAreCompleteForNonBlockingStreams) {
  BANYAN_SKIP_WITHOUT_GPU();
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  const int64_t n = int64_t{32} << 20;  // 128 MiB: long enough for a DMA to lag
  Buffer b;
  ASSERT_TRUE(Buffer::allocate(Device::cuda(0), n * sizeof(float), &b).ok());
  float* dev = static_cast<float*>(b.data());
  for (int round = 0; round < 3; ++round) {
    std::vector<float> in(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) in[i] = static_cast<float>((i * 7 + round) % 1000) - 500.0f;
    ASSERT_TRUE(copy_to_device(in.data(), n, Device::cuda(0), dev).ok());
    std::vector<float> out(static_cast<size_t>(n), 1e30f);
    ASSERT_EQ(cudaMemcpyAsync(out.data(), dev, n * sizeof(float), cudaMemcpyDeviceToHost, stream),
              cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    ASSERT_TRUE(in == out) << "round " << round << ": the upload was not complete";
  }
  for (int round = 0; round < 3; ++round) {
    Buffer fresh;
    ASSERT_TRUE(Buffer::allocate(Device::cuda(0), n * sizeof(float), &fresh).ok());
    ASSERT_EQ(cudaMemsetAsync(fresh.data(), 0x5A, n * sizeof(float), stream), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    std::vector<float> out(static_cast<size_t>(n));
    ASSERT_TRUE(
        copy_to_host(static_cast<float*>(fresh.data()), n, Device::cuda(0), out.data()).ok());
    float expected;
    std::memset(&expected, 0x5A, sizeof(expected));
    for (int64_t i = 0; i < n; i += 4099) {
      ASSERT_EQ(out[i], expected) << "round " << round << ": the zero fill landed late at " << i;
    }
  }
  ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}
#endif

}  // namespace
}  // namespace banyan
