// Backend choice (--exchange), make_all_reduce's errors, and a CPU exchange
// made through the factory.
#include "engine/exchange/exchange.h"

#include <gtest/gtest.h>

#ifdef BANYAN_WITH_CUDA
#include <nccl.h>
#endif

#include <algorithm>
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

// Several processes (mpirun): CPU ranks keep the tree inside the process
// (then MPI across); GPU ranks get NCCL, one communicator over every
// process, even with a single local worker; unsafe or tree-only GPU layouts
// are refused by name.
TEST(ExchangeTest, ProcessLayoutsGetNcclForGpusAndTreeForCpus) {
  using B = ExchangeBackend;
  std::vector<B> out;
  ASSERT_TRUE(resolve_layout_backends(B::kAuto, ranks_of({-1, -1, -1, -1}, 2), 2, &out).ok());
  EXPECT_EQ(out, (std::vector<B>{B::kTree, B::kTree}));
  ASSERT_TRUE(resolve_layout_backends(B::kAuto, ranks_of({-1}, 1), 3, &out).ok());
  EXPECT_EQ(out, (std::vector<B>{B::kTree}));
  Status s = resolve_layout_backends(B::kTree, ranks_of({0, 1}, 1), 2, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--exchange=tree"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("2 processes"), std::string::npos) << s.message();
  s = resolve_layout_backends(B::kAuto, ranks_of({0, 1, 1, 0}, 2), 2, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("rank 0"), std::string::npos) << s.message();
  s = resolve_layout_backends(B::kAuto, ranks_of({0, 0}, 1), 2, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("distinct"), std::string::npos) << s.message();
#ifdef BANYAN_WITH_CUDA
  ASSERT_TRUE(resolve_layout_backends(B::kAuto, ranks_of({0}, 1), 2, &out).ok());
  EXPECT_EQ(out, (std::vector<B>{B::kNccl}));
  ASSERT_TRUE(resolve_layout_backends(B::kNccl, ranks_of({0, 1, 2, 3}, 2), 4, &out).ok());
  EXPECT_EQ(out, (std::vector<B>{B::kNccl, B::kNccl}));
#else
  s = resolve_layout_backends(B::kAuto, ranks_of({0}, 1), 2, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("CUDA"), std::string::npos) << s.message();
#endif
}

// A stand-in for the MPI communicator: rank 0's broadcast payload and every
// process's gather_all value are scripted, so the NCCL bootstrap can be
// checked on a machine without GPUs or MPI.
class ScriptedComm : public ProcessComm {
 public:
  std::vector<uint64_t> counts;   // what gather_all returns
  std::vector<char> rank0_bytes;  // what broadcast writes (empty: leave as is)
  int broadcasts = 0;
  Status sum(float*, size_t) override { return Status::success(); }
  Status sum(double*, size_t) override { return Status::success(); }
  Status sum(float*, size_t, WirePrecision) override { return Status::success(); }
  Status broadcast(void* data, size_t bytes) override {
    ++broadcasts;
    if (!rank0_bytes.empty()) {
      EXPECT_EQ(bytes, rank0_bytes.size());
      std::memcpy(data, rank0_bytes.data(), std::min(bytes, rank0_bytes.size()));
    }
    return Status::success();
  }
  Status gather_all(uint64_t, std::vector<uint64_t>* out) override {
    *out = counts;
    return Status::success();
  }
};

TEST(ExchangeTest, NcclAcrossProcessesChecksItsBootstrap) {
  std::unique_ptr<AllReduce> out;
  ScriptedComm comm;
  comm.counts = {1, 1};
  // CPU workers never take this path.
  Status s =
      make_process_nccl_all_reduce({Device::cpu()}, &comm, 0, 2, WirePrecision::kFloat32, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(comm.broadcasts, 0);
#ifdef BANYAN_WITH_CUDA
  // Processes with different local counts: refused before any NCCL call.
  comm.counts = {2, 1};
  s = make_process_nccl_all_reduce({Device::cuda(0)}, &comm, 1, 2, WirePrecision::kBf16, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("process 0 holds 2"), std::string::npos) << s.message();
  EXPECT_EQ(comm.broadcasts, 0);
  // Process 0 says it could not make the id: the others stop at once
  // instead of waiting for peers that will never join.
  comm.counts = {1, 1};
  comm.rank0_bytes.assign(sizeof(int32_t) + sizeof(ncclUniqueId), 0);
  s = make_process_nccl_all_reduce({Device::cuda(0)}, &comm, 1, 2, WirePrecision::kBf16, &out);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("process 0 could not make the unique id"), std::string::npos)
      << s.message();
  EXPECT_EQ(comm.broadcasts, 1);
#else
  s = make_process_nccl_all_reduce({Device::cuda(0)}, &comm, 0, 2, WirePrecision::kFloat32, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
#endif
  EXPECT_EQ(out, nullptr);
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
