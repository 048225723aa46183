// Tests of the cuda/ resource wrappers: buffer round trips and moves, the
// out-of-memory path, streams and events ordering work, the device guard,
// library handles and NCCL communicators, and the check macros' messages.
#include "cuda/memory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "cuda/check.h"
#include "cuda/elementwise.h"
#include "cuda/handles.h"
#include "cuda/nccl.h"
#include "cuda/stream.h"
#include "tests/cuda/cuda_test_util.h"

namespace banyan::cuda_testing {
namespace {

using cuda::DeviceBuffer;
using cuda::Event;
using cuda::PinnedBuffer;
using cuda::Stream;

class MemoryTest : public GpuTest {};

TEST_F(MemoryTest, DeviceBufferRoundTrip) {
  const std::vector<float> host = random_floats(1000, 1);
  DeviceBuffer b = upload(host);
  EXPECT_EQ(b.bytes(), host.size() * sizeof(float));
  EXPECT_EQ(b.device(), 0);
  EXPECT_EQ(download<float>(b, host.size()), host);
}

TEST_F(MemoryTest, DeviceBufferMovesOwnership) {
  const std::vector<float> host = random_floats(64, 2);
  DeviceBuffer a = upload(host);
  const void* p = a.data();
  DeviceBuffer b(std::move(a));
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.bytes(), 0u);
  EXPECT_EQ(b.data(), p);
  DeviceBuffer c = upload(random_floats(8, 3));
  c = std::move(b);  // frees c's old memory
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(download<float>(c, host.size()), host);
  c.reset();
  EXPECT_TRUE(c.empty());
}

TEST_F(MemoryTest, OutOfMemoryIsReportedNotFatal) {
  DeviceBuffer b;
  std::string error;
  EXPECT_FALSE(b.allocate(0, size_t{1} << 52, &error));  // 4 PiB
  EXPECT_TRUE(b.empty());
  EXPECT_NE(error.find("cannot allocate"), std::string::npos) << error;
  EXPECT_NE(error.find("cudaMalloc"), std::string::npos) << error;
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // the report cleared the error slot
  EXPECT_TRUE(b.allocate(0, 0, &error));       // zero bytes: empty, fine
  EXPECT_TRUE(b.empty());
}

TEST_F(MemoryTest, PinnedBufferRoundTripAndZero) {
  const std::vector<float> host = random_floats(256, 4);
  PinnedBuffer pinned;
  std::string error;
  ASSERT_TRUE(pinned.allocate(host.size() * sizeof(float), &error)) << error;
  std::copy(host.begin(), host.end(), pinned.as<float>());
  DeviceBuffer d = poisoned(pinned.bytes());
  cuda::copy_async(d.data(), pinned.data(), pinned.bytes(), stream());
  PinnedBuffer back;
  ASSERT_TRUE(back.allocate(pinned.bytes(), &error)) << error;
  cuda::copy_async(back.data(), d.data(), d.bytes(), stream());
  stream_.synchronize();
  EXPECT_EQ(std::vector<float>(back.as<float>(), back.as<float>() + host.size()), host);
  PinnedBuffer moved(std::move(back));
  EXPECT_TRUE(back.empty());
  EXPECT_FALSE(moved.empty());

  d.zero_async(stream());
  for (float v : download<float>(d, host.size())) ASSERT_EQ(v, 0.0f);
}

TEST_F(MemoryTest, EventsOrderTwoStreams) {
  Stream producer(0, cuda::StreamPriority::kHigh), consumer(0);
  const int64_t n = 1 << 20;
  DeviceBuffer x = poisoned(n * sizeof(float));
  Event start(0, cuda::EventTiming::kEnabled), done(0, cuda::EventTiming::kEnabled);
  start.record(producer.get());
  cuda::fill(n, 3.0f, x.as<float>(), producer.get());
  done.record(producer.get());
  done.wait_on(consumer.get());
  cuda::scale(n, 2.0f, x.as<float>(), consumer.get());  // must see the fill
  consumer.synchronize();
  EXPECT_TRUE(done.query());
  EXPECT_TRUE(consumer.query());
  EXPECT_GE(Event::elapsed_ms(start, done), 0.0f);
  std::vector<float> host(n);
  cuda::copy_async(host.data(), x.data(), x.bytes(), consumer.get());
  consumer.synchronize();
  for (float v : host) ASSERT_EQ(v, 6.0f);

  Stream moved(std::move(producer));
  EXPECT_TRUE(producer.empty());
  EXPECT_FALSE(moved.empty());
  Event moved_event(std::move(done));
  EXPECT_TRUE(done.empty());
  moved_event.synchronize();
}

TEST_F(MemoryTest, DeviceGuardRestores) {
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  const int last = cuda::device_count() - 1;
  {
    cuda::DeviceGuard guard(last);
    EXPECT_EQ(cuda::current_device_or_minus_one(), last);
  }
  EXPECT_EQ(cuda::current_device_or_minus_one(), 0);
}

// A thread that never chose a device has no current context; a guard must
// leave it that way (restoring "device 0" would create a context on GPU 0).
TEST_F(MemoryTest, DeviceGuardLeavesAFreshThreadWithoutContext) {
  void* get = nullptr;
  cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
  ASSERT_EQ(
      cudaGetDriverEntryPointByVersion("cuCtxGetCurrent", &get, 12000, cudaEnableDefault, &found),
      cudaSuccess);
  ASSERT_EQ(found, cudaDriverEntryPointSuccess);
  using GetCurrent = int (*)(void**);
  const GetCurrent current = reinterpret_cast<GetCurrent>(get);
  const int last = cuda::device_count() - 1;
  std::thread fresh([&] {
    void* before = reinterpret_cast<void*>(1);
    ASSERT_EQ(current(&before), 0);
    ASSERT_EQ(before, nullptr) << "a new thread already has a context";
    {
      cuda::DeviceGuard guard(last);
      void* inside = nullptr;
      ASSERT_EQ(current(&inside), 0);
      EXPECT_NE(inside, nullptr);
      EXPECT_EQ(cuda::current_device_or_minus_one(), last);
    }
    void* after = reinterpret_cast<void*>(1);
    ASSERT_EQ(current(&after), 0);
    EXPECT_EQ(after, nullptr) << "the guard left a context current";
  });
  fresh.join();
}

TEST_F(MemoryTest, LibraryHandlesCreateAndMove) {
  std::string error;
  cuda::CudnnHandle cudnn;
  ASSERT_TRUE(cudnn.create(0, stream(), &error)) << error;
  cuda::CudnnHandle cudnn2(std::move(cudnn));
  EXPECT_TRUE(cudnn.empty());
  EXPECT_FALSE(cudnn2.empty());

  cuda::CublasHandle cublas;
  ASSERT_TRUE(cublas.create(0, stream(), /*allow_tf32=*/true, &error)) << error;
  EXPECT_TRUE(cublas.allow_tf32());
  cublas.set_allow_tf32(false);
  EXPECT_FALSE(cublas.allow_tf32());
  Stream other(0);
  cublas.set_stream(other.get());
  cuda::CublasHandle cublas2;
  cublas2 = std::move(cublas);
  EXPECT_TRUE(cublas.empty());
  EXPECT_FALSE(cublas2.empty());
  cublas2.set_stream(stream());  // before `other` goes away

  cuda::CublasLtHandle lt;
  ASSERT_TRUE(lt.create(0, &error)) << error;
  EXPECT_FALSE(lt.empty());
}

TEST_F(MemoryTest, CheckMessagesNameStatementAndDevice) {
  const std::string ok = BANYAN_CUDA_ERROR(cudaGetLastError());
  EXPECT_TRUE(ok.empty()) << ok;
  const std::string e = BANYAN_CUDA_ERROR(cudaSetDevice(1 << 20));
  EXPECT_NE(e.find("cudaSetDevice(1 << 20)"), std::string::npos) << e;
  EXPECT_NE(e.find("on device 0"), std::string::npos) << e;
  EXPECT_NE(e.find("memory_test.cc:"), std::string::npos) << e;
  EXPECT_NE(e.find("CUDA error"), std::string::npos) << e;
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  const std::string c = BANYAN_CUBLAS_ERROR(CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_NE(c.find("cuBLAS error"), std::string::npos) << c;
  const std::string d = BANYAN_CUDNN_ERROR(CUDNN_STATUS_BAD_PARAM);
  EXPECT_NE(d.find("cuDNN error"), std::string::npos) << d;
  const std::string n = BANYAN_NCCL_ERROR(ncclInvalidArgument);
  EXPECT_NE(n.find("NCCL error"), std::string::npos) << n;
}

TEST_F(MemoryTest, NcclSingleRankAllReduce) {
  std::string error;
  cuda::NcclCommGroup group;
  ASSERT_TRUE(group.init({0}, &error)) << error;
  ASSERT_EQ(group.size(), 1);
  EXPECT_EQ(group[0].rank(), 0);
  EXPECT_EQ(group[0].num_ranks(), 1);
  const std::vector<float> host = random_floats(100, 5);
  DeviceBuffer x = upload(host);
  ASSERT_EQ(
      ncclAllReduce(x.data(), x.data(), host.size(), ncclFloat, ncclSum, group[0].get(), stream()),
      ncclSuccess);
  EXPECT_EQ(download<float>(x, host.size()), host);  // one rank: the sum is itself
  EXPECT_TRUE(group[0].async_error().empty());
  group.reset();
  EXPECT_EQ(group.size(), 0);

  ncclUniqueId id;
  ASSERT_TRUE(cuda::nccl_unique_id(&id, &error)) << error;
  cuda::NcclComm comm;
  ASSERT_TRUE(comm.init_rank(0, 1, id, 0, &error)) << error;
  cuda::NcclComm moved(std::move(comm));
  EXPECT_TRUE(comm.empty());
  moved.mark_failed();  // takes the abort path on destruction
}

TEST_F(MemoryTest, NcclRejectsRepeatedDevices) {
  std::string error;
  cuda::NcclCommGroup group;
  EXPECT_FALSE(group.init({0, 0}, &error));
  EXPECT_NE(error.find("distinct devices"), std::string::npos) << error;
  EXPECT_NE(error.find("[0,0]"), std::string::npos) << error;
}

// Runs on the CPU: which directions a device list needs.
TEST(PeerAccessTest, DistinctPairsInBothDirectionsNeverWithItself) {
  using Pairs = std::vector<std::pair<int, int>>;
  EXPECT_EQ(cuda::distinct_device_pairs({}), Pairs{});
  EXPECT_EQ(cuda::distinct_device_pairs({0, 0, 0}), Pairs{});
  EXPECT_EQ(cuda::distinct_device_pairs({1, 0, 0, 1}), (Pairs{{1, 0}, {0, 1}}));
  EXPECT_EQ(cuda::distinct_device_pairs({2, 0, 1}),
            (Pairs{{2, 0}, {2, 1}, {0, 2}, {0, 1}, {1, 2}, {1, 0}}));
}

// Repeated ids need no peer access (and asking must not fail).
TEST_F(MemoryTest, PeerAccessIsNothingForOneDevice) {
  cuda::PeerAccessReport report;
  std::string error;
  ASSERT_TRUE(cuda::enable_peer_access({0, 0, 0}, &report, &error)) << error;
  EXPECT_TRUE(report.enabled.empty());
  EXPECT_TRUE(report.unavailable.empty());
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

// Every pair the hardware allows is enabled, a second call is harmless, and
// the runtime then reports it as already enabled.
TEST_F(MemoryTest, PeerAccessEnabledForEveryCapablePair) {
  BANYAN_SKIP_WITHOUT_GPUS(2);
  std::vector<int> all;
  for (int d = 0; d < cuda::device_count(); ++d) all.push_back(d);
  cuda::PeerAccessReport report;
  std::string error;
  ASSERT_TRUE(cuda::enable_peer_access(all, &report, &error)) << error;
  ASSERT_TRUE(cuda::enable_peer_access(all, &report, &error)) << error;
  EXPECT_EQ(report.enabled.size() + report.unavailable.size(), all.size() * (all.size() - 1));
  for (const auto& [a, b] : report.enabled) {
    cuda::DeviceGuard guard(a);
    EXPECT_EQ(cudaDeviceEnablePeerAccess(b, 0), cudaErrorPeerAccessAlreadyEnabled)
        << a << "->" << b;
    cudaGetLastError();
  }
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

}  // namespace
}  // namespace banyan::cuda_testing
