// Backend choice (--exchange), make_all_reduce's errors, and a CPU exchange
// made through the factory.
#include "engine/exchange/exchange.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>

namespace banyan {
namespace {

TEST(ExchangeTest, ParsesBackendNames) {
  ExchangeBackend b;
  for (ExchangeBackend expected :
       {ExchangeBackend::kAuto, ExchangeBackend::kTree, ExchangeBackend::kNccl}) {
    ASSERT_TRUE(parse_exchange_backend(exchange_backend_name(expected), &b).ok());
    EXPECT_EQ(b, expected);
  }
  const Status s = parse_exchange_backend("ring", &b);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'ring'"), std::string::npos);
}

TEST(ExchangeTest, AutoTakesTheTreeUnlessAllAreDistinctGpus) {
  const std::vector<Device> cpus(3, Device::cpu());
  const std::vector<Device> repeated = {Device::cuda(0), Device::cuda(0)};
  const std::vector<Device> distinct = {Device::cuda(0), Device::cuda(1)};
  EXPECT_EQ(resolve_exchange_backend(ExchangeBackend::kAuto, cpus), ExchangeBackend::kTree);
  EXPECT_EQ(resolve_exchange_backend(ExchangeBackend::kAuto, repeated), ExchangeBackend::kTree);
#ifdef BANYAN_WITH_CUDA
  EXPECT_EQ(resolve_exchange_backend(ExchangeBackend::kAuto, distinct), ExchangeBackend::kNccl);
#else
  EXPECT_EQ(resolve_exchange_backend(ExchangeBackend::kAuto, distinct), ExchangeBackend::kTree);
#endif
  EXPECT_EQ(resolve_exchange_backend(ExchangeBackend::kTree, distinct), ExchangeBackend::kTree);
}

// Rank k's participants for the layouts named: --devices and --group_size.
std::vector<std::vector<Device>> ranks_of(const std::vector<int>& ids, int group_size) {
  std::vector<std::vector<Device>> out(group_size);
  for (size_t i = 0; i < ids.size(); ++i) {
    out[i % group_size].push_back(ids[i] < 0 ? Device::cpu() : Device::cuda(ids[i]));
  }
  return out;
}

std::vector<ExchangeBackend> backends_of(ExchangeBackend requested, const std::vector<int>& ids,
                                         int group_size) {
  std::vector<ExchangeBackend> out;
  const Status s = resolve_layout_backends(requested, ranks_of(ids, group_size), &out);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

// NCCL only where each GPU belongs to one communicator: --devices=0,1,1,0
// --group_size=2 puts GPUs 0 and 1 in both ranks' exchanges.
TEST(ExchangeTest, LayoutGetsNcclOnlyWhereItIsSafe) {
  using B = ExchangeBackend;
  const B nccl_if_built =
#ifdef BANYAN_WITH_CUDA
      B::kNccl;
#else
      B::kTree;
#endif
  EXPECT_EQ(backends_of(B::kAuto, {0, 1, 1, 0}, 2), (std::vector<B>{B::kTree, B::kTree}));
  EXPECT_EQ(backends_of(B::kAuto, {0, 0, 1, 1}, 2), (std::vector<B>{B::kTree, B::kTree}));
  EXPECT_EQ(backends_of(B::kAuto, {0, 1, 2, 3}, 2), (std::vector<B>{nccl_if_built, nccl_if_built}));
  EXPECT_EQ(backends_of(B::kAuto, {0, 1}, 1), (std::vector<B>{nccl_if_built}));
  EXPECT_EQ(backends_of(B::kAuto, {0, 0}, 1), (std::vector<B>{B::kTree}));
  EXPECT_EQ(backends_of(B::kAuto, {-1, -1, -1, -1}, 2), (std::vector<B>{B::kTree, B::kTree}));
  // Ranks {0,3}, {1,4}, {2,0}: ranks 0 and 2 share GPU 0, rank 1 is alone.
  EXPECT_EQ(backends_of(B::kAuto, {0, 1, 2, 3, 4, 0}, 3),
            (std::vector<B>{B::kTree, nccl_if_built, B::kTree}));
  EXPECT_EQ(backends_of(B::kTree, {0, 1, 2, 3}, 2), (std::vector<B>{B::kTree, B::kTree}));
  // One group: no exchange, whatever was asked.
  EXPECT_EQ(backends_of(B::kNccl, {0, 0}, 2), (std::vector<B>{B::kTree, B::kTree}));
}

TEST(ExchangeTest, NcclRefusesUnsafeLayoutsByName) {
  std::vector<ExchangeBackend> out;
  Status s = resolve_layout_backends(ExchangeBackend::kNccl, ranks_of({0, 1, 1, 0}, 2), &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("rank 0"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("rank 1"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("--exchange=tree"), std::string::npos) << s.message();
  s = resolve_layout_backends(ExchangeBackend::kNccl, ranks_of({0, 0, 1, 1}, 1), &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("distinct"), std::string::npos) << s.message();
  s = resolve_layout_backends(ExchangeBackend::kNccl, ranks_of({-1, -1}, 1), &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
#ifdef BANYAN_WITH_CUDA
  EXPECT_TRUE(
      resolve_layout_backends(ExchangeBackend::kNccl, ranks_of({0, 1, 2, 3}, 2), &out).ok());
#endif
}

TEST(ExchangeTest, RejectsWhatCannotWork) {
  std::unique_ptr<AllReduce> out;
  Topology none;
  EXPECT_EQ(make_all_reduce(ExchangeBackend::kAuto, {}, none, &out).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      make_all_reduce(ExchangeBackend::kNccl, {Device::cpu(), Device::cpu()}, none, &out).code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      make_all_reduce(ExchangeBackend::kTree, {Device::cpu(), Device::cuda(0)}, none, &out).code(),
      StatusCode::kUnimplemented);
  ExchangeOptions tiny;
  tiny.chunk_bytes = 2;
  EXPECT_EQ(make_all_reduce(ExchangeBackend::kTree, {Device::cpu()}, none, tiny, &out).code(),
            StatusCode::kInvalidArgument);
  const Status nccl_repeated =
      make_all_reduce(ExchangeBackend::kNccl, {Device::cuda(0), Device::cuda(0)}, none, &out);
  EXPECT_EQ(nccl_repeated.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(nccl_repeated.message().find("distinct"), std::string::npos);
  const Status outside = make_all_reduce(ExchangeBackend::kTree, {Device::cuda(3)}, none, &out);
#ifdef BANYAN_WITH_CUDA
  EXPECT_EQ(outside.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(outside.message().find("cuda:3"), std::string::npos) << outside.message();
#else
  EXPECT_EQ(outside.code(), StatusCode::kUnimplemented);
#endif
}

TEST(ExchangeTest, CpuParticipantsGetAWorkingExchange) {
  std::unique_ptr<AllReduce> out;
  ASSERT_TRUE(
      make_all_reduce(ExchangeBackend::kTree, {Device::cpu(), Device::cpu()}, Topology(), &out)
          .ok());
  std::vector<float> a = {1, 2, 3}, b = {10, 20, 30};
  std::thread other([&] { EXPECT_TRUE(out->all_reduce(1, b.data(), 3, nullptr).ok()); });
  EXPECT_TRUE(out->all_reduce(0, a.data(), 3, nullptr).ok());
  other.join();
  EXPECT_EQ(a, (std::vector<float>{11, 22, 33}));
  EXPECT_EQ(b, a);
}

}  // namespace
}  // namespace banyan
