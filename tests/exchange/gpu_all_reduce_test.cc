// GPU backends (skipped without a GPU): the GPU tree on repeated device ids
// must give the CPU tree's bits on every rank; a one-rank NCCL communicator
// sums and aborts; with two or more GPUs also mixed ids through the tree,
// NCCL against a double reference, and an abort that releases a rank whose
// peer never joined the collective.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>

#include "engine/exchange/exchange.h"
#include "engine/exchange/tree_all_reduce.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"
#ifdef BANYAN_WITH_CUDA
#include "cuda/device_info.h"
#include "cuda/memory.h"
#include "cuda/stream.h"
#include "engine/exchange/nccl_all_reduce.h"
#endif

namespace banyan {
namespace {

#ifdef BANYAN_WITH_CUDA

std::vector<std::vector<float>> random_inputs(int n, size_t count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<std::vector<float>> in(n, std::vector<float>(count));
  for (auto& v : in) {
    for (float& x : v) x = std::ldexp(value(gen), static_cast<int>(gen() % 9) - 4);
  }
  return in;
}

// Runs the exchange for `devices` on GPU buffers; returns each rank's result.
std::vector<std::vector<float>> run_gpu(AllReduce* exchange, const std::vector<int>& devices,
                                        const std::vector<std::vector<float>>& in) {
  const int n = devices.size();
  const size_t count = in[0].size();
  std::vector<cuda::DeviceBuffer> buffers(n);
  std::vector<cuda::Stream> streams;
  std::string error;
  for (int r = 0; r < n; ++r) {
    streams.emplace_back(devices[r]);
    EXPECT_TRUE(buffers[r].allocate(devices[r], count * sizeof(float) + 4, &error)) << error;
    cuda::copy_async(buffers[r].data(), in[r].data(), count * sizeof(float), streams[r].get());
  }
  std::vector<Status> status(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      status[r] = exchange->all_reduce(r, buffers[r].as<float>(), count, streams[r].get());
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<std::vector<float>> out(n, std::vector<float>(count));
  for (int r = 0; r < n; ++r) {
    EXPECT_TRUE(status[r].ok()) << status[r].to_string();
    cuda::copy_async(out[r].data(), buffers[r].data(), count * sizeof(float), streams[r].get());
    streams[r].synchronize();
  }
  return out;
}

void check_tree_matches_cpu(const std::vector<int>& ids, size_t count, size_t chunk_floats) {
  SCOPED_TRACE("count " + std::to_string(count));
  std::vector<Device> gpus, cpus(ids.size(), Device::cpu());
  for (int id : ids) gpus.push_back(Device::cuda(id));
  std::vector<cuda::DeviceInfo> info = cuda::query_devices();
  LinkMatrix links(static_cast<int>(info.size()));
  ExchangeOptions options;
  options.chunk_bytes = chunk_floats * sizeof(float);
  std::unique_ptr<AllReduce> gpu, cpu;
  ASSERT_TRUE(make_all_reduce(ExchangeBackend::kTree, gpus, Topology(links), options, &gpu).ok());
  const auto in = random_inputs(ids.size(), count, 7 + count);
  const auto out = run_gpu(gpu.get(), ids, in);
  const auto again = run_gpu(gpu.get(), ids, in);
  // The CPU tree over the same links and order gives the expected bits.
  LinkMatrix gpu_links;
  ASSERT_TRUE(Topology(links).participant_links(gpus, &gpu_links).ok());
  TreeAllReduce reference(ExchangeTree::build(gpu_links), options.chunk_bytes);
  std::vector<std::vector<float>> expected = in;
  std::vector<std::thread> threads;
  for (size_t r = 0; r < ids.size(); ++r) {
    threads.emplace_back(
        [&, r] { EXPECT_TRUE(reference.all_reduce(r, expected[r].data(), count, nullptr).ok()); });
  }
  for (std::thread& t : threads) t.join();
  for (size_t r = 0; r < ids.size(); ++r) {
    EXPECT_EQ(std::memcmp(out[r].data(), expected[0].data(), count * sizeof(float)), 0) << r;
    EXPECT_EQ(std::memcmp(again[r].data(), expected[0].data(), count * sizeof(float)), 0) << r;
  }
}

TEST(GpuTreeAllReduceTest, RepeatedDeviceIdsGiveTheCpuTreeBits) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (size_t count : {size_t{0}, size_t{1}, size_t{255}, size_t{257}, size_t{3 * 256 + 5}}) {
    check_tree_matches_cpu({0, 0, 0, 0}, count, 256);
  }
  check_tree_matches_cpu({0, 0, 0}, 1 << 20, 1 << 18);
}

TEST(GpuTreeAllReduceTest, MixedDevicesGiveTheCpuTreeBits) {
  BANYAN_SKIP_WITHOUT_GPUS(2);
  check_tree_matches_cpu({0, 1, 0, 1, 1}, 3 * 256 + 5, 256);
}

TEST(NcclAllReduceTest, SumsOverDistinctGpus) {
  BANYAN_SKIP_WITHOUT_GPUS(2);
  const int n = cuda::device_count();
  std::vector<int> ids;
  std::vector<Device> gpus;
  for (int i = 0; i < n; ++i) ids.push_back(i), gpus.push_back(Device::cuda(i));
  std::unique_ptr<AllReduce> nccl;
  const Status s = make_all_reduce(ExchangeBackend::kNccl, gpus, Topology(LinkMatrix(n)), &nccl);
  ASSERT_TRUE(s.ok()) << s.to_string();
  const auto in = random_inputs(n, 1000, 3);
  const auto out = run_gpu(nccl.get(), ids, in);
  for (size_t i = 0; i < 1000; ++i) {
    double sum = 0, magnitude = 0;
    for (int r = 0; r < n; ++r) sum += in[r][i], magnitude += std::fabs(in[r][i]);
    ASSERT_NEAR(out[0][i], sum, n * 1.2e-7 * magnitude) << i;
    for (int r = 1; r < n; ++r) ASSERT_EQ(std::memcmp(&out[r][i], &out[0][i], 4), 0) << r;
  }
}

// One GPU: a one-rank communicator (non-blocking) sums to itself, and after
// abort() every call returns Aborted with the reason.
TEST(NcclAllReduceTest, OneRankSumsThenAborts) {
  BANYAN_SKIP_WITHOUT_GPU();
  std::unique_ptr<AllReduce> nccl;
  const Status s = NcclAllReduce::create({0}, &nccl);
  ASSERT_TRUE(s.ok()) << s.to_string();
  const auto in = random_inputs(1, 4097, 5);
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto out = run_gpu(nccl.get(), {0}, in);
    ASSERT_EQ(std::memcmp(out[0].data(), in[0].data(), in[0].size() * sizeof(float)), 0);
  }
  nccl->abort("test stops here");
  std::vector<float> host(4);
  const Status after = nccl->all_reduce(0, host.data(), 4, nullptr);
  EXPECT_EQ(after.code(), StatusCode::kAborted);
  EXPECT_NE(after.message().find("test stops here"), std::string::npos) << after.message();
}

// Rank 0 enters the collective, rank 1 never does (its worker failed): the
// abort from a third thread must release rank 0's thread and its stream.
TEST(NcclAllReduceTest, AbortReleasesARankWhosePeerNeverCame) {
  BANYAN_SKIP_WITHOUT_GPUS(2);
  std::unique_ptr<AllReduce> nccl;
  ASSERT_TRUE(NcclAllReduce::create({0, 1}, &nccl).ok());
  cuda::Stream stream(0);
  cuda::DeviceBuffer buffer;
  std::string error;
  ASSERT_TRUE(buffer.allocate(0, 1 << 20, &error)) << error;
  std::thread aborter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    nccl->abort("rank 1 failed");
  });
  const Status s = nccl->all_reduce(0, buffer.as<float>(), (1 << 20) / 4, stream.get());
  EXPECT_TRUE(s.ok() || s.code() == StatusCode::kAborted) << s.to_string();
  aborter.join();
  // The aborted communicator cancels the kernel left waiting for rank 1.
  cudaStreamSynchronize(stream.get());
  cudaGetLastError();
  EXPECT_EQ(nccl->all_reduce(0, buffer.as<float>(), 1, stream.get()).code(), StatusCode::kAborted);
}

#else

TEST(GpuTreeAllReduceTest, GpuParticipantsNeedACudaBuild) {
  std::unique_ptr<AllReduce> out;
  const Status s = make_all_reduce(ExchangeBackend::kTree, {Device::cuda(0), Device::cuda(0)},
                                   Topology(LinkMatrix(1)), &out);
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
}

#endif

}  // namespace
}  // namespace banyan
