// Workers on their own (no solver): a failing worker releases peers waiting
// in an exchange or a transfer, the two-column AlexNet splits into its
// columns, bad layouts are refused, the exchange of rank k joins the rank-k
// workers, and NCCL on GPUs shared between ranks is refused.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/config/loader.h"
#include "engine/net.h"
#include "engine/workers.h"
#include "tests/common/watchdog.h"

namespace banyan {
namespace {

using banyan::testing::Watchdog;

TEST(WorkersCoreTest, ErrorInOneWorkerReleasesPeersInExchangeAndTransfer) {
  Watchdog watchdog(60);
  WorkersOptions o;
  o.devices.assign(4, Device::cpu());
  o.group_size = 2;
  std::unique_ptr<Workers> workers;
  ASSERT_TRUE(Workers::create(o, &workers).ok());
  Status s = workers->run([&](int w) -> Status {
    if (w == 3) return Status::data_loss("injected failure");
    if (w == 2) {  // waits for a transfer its partner never sends
      float x = 0.0f;
      TransferChannel* c = workers->hub(1).channel("never");
      c->publish(Shape{1}, DType::kFloat32, false);
      if (!c->take_forward(&x, 1)) return Status::aborted("transfer aborted");
      return Status::success();
    }
    std::vector<float> g(8, 1.0f);  // workers 0 and 1: rank 3's peer never comes
    return workers->exchange(w % 2)->all_reduce(w / 2, g.data(), g.size(), nullptr);
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("worker 3 (cpu, group 1, rank 1)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("injected failure"), std::string::npos);
  EXPECT_TRUE(workers->failed());
}

// The shipped two-column AlexNet (narrowed: fewer filters and units) splits
// into its columns on 2 workers and folds onto 1: the same parameters either
// way, each on its column's partition.
TEST(WorkersCoreTest, AlexNet2ColSplitsIntoColumns) {
  Watchdog watchdog(120);
  NetConfig config;
  Status s = load_net_config(
      std::string(BANYAN_SOURCE_DIR) + "/models/alexnet_2col/deploy.prototxt", &config);
  ASSERT_TRUE(s.ok()) << s.message();
  for (LayerConfig& l : config.layers) {  // fewer outputs: the fillers dominate the time
    l.convolution.num_output /= 8;
    l.inner_product.num_output /= 64;
  }
  WorkerContext single(Device::cpu(), 1);
  std::unique_ptr<Net> whole;
  ASSERT_TRUE(Net::create(config, {}, &single, &whole).ok());
  WorkersOptions o;
  o.devices.assign(2, Device::cpu());
  o.group_size = 2;
  std::unique_ptr<Workers> workers;
  ASSERT_TRUE(Workers::create(o, &workers).ok());
  std::unique_ptr<Net> parts[2];
  s = workers->run([&](int w) {
    NetBuildOptions b;
    b.phase = Phase::kTest;
    b.transfers = &workers->hub(0);
    b.transfer_scope = "deploy";
    return Net::create(config, b, &workers->ctx(w), &parts[w]);
  });
  ASSERT_TRUE(s.ok()) << s.message();
  std::map<std::string, int> owner;
  for (int w = 0; w < 2; ++w) {
    for (const NetParam& p : parts[w]->params()) owner[p.name] = w;
  }
  ASSERT_EQ(owner.size(), whole->params().size());
  for (const NetParam& p : whole->params()) {
    ASSERT_TRUE(owner.count(p.name)) << p.name;
    const bool column_b = p.name.find("_b/") != std::string::npos;
    EXPECT_EQ(owner[p.name], column_b ? 1 : 0) << p.name;
  }
  EXPECT_EQ(parts[0]->params().back().name, "fc8/1");
  ASSERT_EQ(parts[0]->outputs().size(), 1u);
  EXPECT_EQ(parts[0]->outputs()[0].name, "prob");
  EXPECT_TRUE(parts[1]->outputs().empty());
}

TEST(WorkersCoreTest, BadLayoutsAreRefused) {
  std::vector<Device> three(3, Device::cpu());
  Status s = validate_worker_layout(three, 2);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("3 workers"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("--group_size=2"), std::string::npos) << s.message();
  EXPECT_EQ(validate_worker_layout(three, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(validate_worker_layout({}, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(validate_worker_layout(three, 3).ok());
  s = validate_worker_layout({Device::cpu(), Device::cuda(0)}, 2);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("cpu,cuda:0"), std::string::npos) << s.message();
  WorkersOptions o;
  o.devices = three;
  o.group_size = 2;
  std::unique_ptr<Workers> w;
  EXPECT_EQ(Workers::create(o, &w).code(), StatusCode::kInvalidArgument);
}

// The exchange of rank k joins the rank-k workers of every group.
TEST(WorkersCoreTest, RankParticipantsTakeOneWorkerPerGroup) {
  const std::vector<Device> d = {Device::cuda(0), Device::cuda(1), Device::cuda(1),
                                 Device::cuda(0)};
  const std::vector<std::vector<Device>> ranks = rank_participants(d, 2);
  ASSERT_EQ(ranks.size(), 2u);
  EXPECT_EQ(ranks[0], (std::vector<Device>{Device::cuda(0), Device::cuda(1)}));
  EXPECT_EQ(ranks[1], (std::vector<Device>{Device::cuda(1), Device::cuda(0)}));
  EXPECT_EQ(rank_participants(d, 1), (std::vector<std::vector<Device>>{d}));
}

// --exchange=nccl on a layout where two ranks' exchanges share GPUs is
// refused before any communicator is made (on any machine: the layout alone
// decides).
TEST(WorkersCoreTest, NcclOnSharedGpusIsRefused) {
  WorkersOptions o;
  o.devices = {Device::cuda(0), Device::cuda(1), Device::cuda(1), Device::cuda(0)};
  o.group_size = 2;
  o.exchange = ExchangeBackend::kNccl;
  int made = 0;
  o.make_all_reduce = [&](ExchangeBackend, const std::vector<Device>&,
                          std::unique_ptr<AllReduce>*) {
    ++made;
    return Status::internal("not reached");
  };
  std::unique_ptr<Workers> w;
  const Status s = Workers::create(o, &w);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--exchange=nccl"), std::string::npos) << s.message();
  EXPECT_EQ(made, 0);
}

}  // namespace
}  // namespace banyan
