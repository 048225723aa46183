// ExchangeTree: the closest-first pairing on the two reference machines
// (fixtures), repeated ids, the CPU, and the parent/child structure that
// fixes the summation order.
#include "engine/exchange/tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace banyan {
namespace {

const std::string kDir = std::string(BANYAN_FIXTURES_DIR) + "/topology/";

ExchangeTree tree_for(const std::string& file, const std::vector<Device>& devices) {
  Topology t;
  EXPECT_TRUE(Topology::read_file(kDir + file, &t).ok());
  LinkMatrix links;
  EXPECT_TRUE(t.participant_links(devices, &links).ok());
  return ExchangeTree::build(links);
}

std::vector<Device> gpus(std::initializer_list<int> ids) {
  std::vector<Device> out;
  for (int id : ids) out.push_back(Device::cuda(id));
  return out;
}

TEST(ExchangeTreeTest, TwoSwitchesOnTwoSocketsPairThenJoinAtSys) {
  const ExchangeTree tree =
      tree_for("two_switches_two_sockets.txt", gpus({0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(tree.to_string(), "SYS(PIX(PIX(0 1) PIX(2 3)) PIX(PIX(4 5) PIX(6 7)))");
  EXPECT_EQ(tree.parent(0), -1);
  EXPECT_EQ(tree.children(0), (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(tree.children(2), (std::vector<int>{3}));
  EXPECT_EQ(tree.children(4), (std::vector<int>{5, 6}));
  EXPECT_EQ(tree.children(6), (std::vector<int>{7}));
  EXPECT_EQ(tree.parent(7), 6);
  EXPECT_EQ(tree.depth(), 3);
}

TEST(ExchangeTreeTest, SwitchAndHostBridgeJoinAtPhb) {
  const ExchangeTree tree = tree_for("switch_and_host_bridge.txt", gpus({0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(tree.to_string(), "PHB(PIX(PIX(0 1) PIX(2 3)) PHB(4 5))");
  EXPECT_EQ(tree.children(0), (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(tree.children(4), (std::vector<int>{5}));
  EXPECT_EQ(tree.to_indented_string(),
            "PHB\n  PIX\n    PIX\n      rank 0\n      rank 1\n    PIX\n      rank 2\n"
            "      rank 3\n  PHB\n    rank 4\n    rank 5\n");
}

TEST(ExchangeTreeTest, RankOrderDoesNotFollowDeviceOrder) {
  // Ranks 0 and 2 share a switch, as do 1 and 3: pairs cross the rank order.
  const ExchangeTree tree = tree_for("two_switches_two_sockets.txt", gpus({0, 4, 1, 5}));
  EXPECT_EQ(tree.to_string(), "SYS(PIX(0 2) PIX(1 3))");
  EXPECT_EQ(tree.children(0), (std::vector<int>{2, 1}));
  EXPECT_EQ(tree.parent(3), 1);
}

TEST(ExchangeTreeTest, RepeatedIdsReduceLocallyFirst) {
  const ExchangeTree tree = tree_for("two_switches_two_sockets.txt", gpus({0, 4, 0, 4, 0}));
  EXPECT_EQ(tree.to_string(), "SYS(SAME(SAME(0 2) 4) SAME(1 3))");
  const ExchangeTree same = tree_for("nvlink_4.txt", gpus({0, 0, 0, 0}));
  EXPECT_EQ(same.to_string(), "SAME(SAME(0 1) SAME(2 3))");
}

TEST(ExchangeTreeTest, NvLinkCountsDecide) {
  // GPUs 0-2 and 1-3 have 6 links, every other pair 12.
  const ExchangeTree tree = tree_for("nvlink_4.txt", gpus({0, 2, 1, 3}));
  EXPECT_EQ(tree.to_string(), "NV6(NV12(0 2) NV12(1 3))");
}

TEST(ExchangeTreeTest, CpuWorkersAndSingleParticipant) {
  LinkMatrix one(1);
  const ExchangeTree single = ExchangeTree::build(one);
  EXPECT_EQ(single.to_string(), "0");
  EXPECT_EQ(single.parent(0), -1);
  EXPECT_TRUE(single.children(0).empty());
  EXPECT_EQ(single.depth(), 0);
  LinkMatrix three;
  ASSERT_TRUE(Topology().participant_links(std::vector<Device>(3, Device::cpu()), &three).ok());
  EXPECT_EQ(ExchangeTree::build(three).to_string(), "SAME(SAME(0 1) 2)");
}

TEST(ExchangeTreeTest, EveryRankButTheRootHasOneParentAboveIt) {
  LinkMatrix links(7);
  for (int i = 0; i < 7; ++i) {
    for (int j = 0; j < i; ++j) {
      links.set(i, j, Link{(i + j) % 3 == 0 ? LinkLevel::kPxb : LinkLevel::kNode, 0});
    }
  }
  const ExchangeTree tree = ExchangeTree::build(links);
  int edges = 0;
  for (int r = 1; r < 7; ++r) {
    ASSERT_GE(tree.parent(r), 0);
    EXPECT_LT(tree.parent(r), r) << "a leader is its cluster's lowest rank";
    const auto& siblings = tree.children(tree.parent(r));
    EXPECT_EQ(std::count(siblings.begin(), siblings.end(), r), 1);
    edges += static_cast<int>(tree.children(r).size());
  }
  EXPECT_EQ(edges + static_cast<int>(tree.children(0).size()), 6);
}

}  // namespace
}  // namespace banyan
