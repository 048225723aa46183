// Topology: link names and order, the nvidia-smi topo -m reader (fixtures and
// malformed text, errors naming file:line and the token), participant links
// with repeated ids and the CPU, and the printer read back.
#include "engine/exchange/topology.h"

#include <gtest/gtest.h>

#include <string>

namespace banyan {
namespace {

const std::string kDir = std::string(BANYAN_FIXTURES_DIR) + "/topology/";

Link nv(int n) { return Link{LinkLevel::kNvLink, n}; }
Link level(LinkLevel l) { return Link{l, 0}; }

TEST(LinkTest, NamesRoundTripAndOrderClosestFirst) {
  const Link order[] = {level(LinkLevel::kSame),
                        nv(18),
                        nv(4),
                        nv(1),
                        level(LinkLevel::kPix),
                        level(LinkLevel::kPxb),
                        level(LinkLevel::kPhb),
                        level(LinkLevel::kNode),
                        level(LinkLevel::kSys)};
  for (size_t i = 0; i < std::size(order); ++i) {
    Link parsed;
    ASSERT_TRUE(parse_link_name(link_name(order[i]), &parsed)) << link_name(order[i]);
    EXPECT_EQ(parsed, order[i]);
    if (i > 0) {
      EXPECT_LT(order[i - 1].distance(), order[i].distance()) << link_name(order[i]);
    }
  }
  Link parsed;
  EXPECT_TRUE(parse_link_name("SOC", &parsed));
  EXPECT_EQ(parsed, level(LinkLevel::kSys));
  for (const char* bad : {"NV", "NV0", "NVx", "pix", "X", "", "NV123"}) {
    EXPECT_FALSE(parse_link_name(bad, &parsed)) << bad;
  }
}

TEST(TopologyTest, ReadsTwoSwitchesTwoSocketsWithNicColumns) {
  Topology t;
  ASSERT_TRUE(Topology::read_file(kDir + "two_switches_two_sockets.txt", &t).ok());
  ASSERT_EQ(t.num_gpus(), 8);
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 8; ++j) {
      const LinkLevel expected =
          i == j ? LinkLevel::kSame : ((i < 4) == (j < 4) ? LinkLevel::kPix : LinkLevel::kSys);
      EXPECT_EQ(t.gpu_links().at(i, j), level(expected)) << i << "," << j;
    }
  }
}

TEST(TopologyTest, ReadsNvLinkCountsThroughTerminalEscapes) {
  Topology t;
  ASSERT_TRUE(Topology::read_file(kDir + "nvlink_4.txt", &t).ok());
  ASSERT_EQ(t.num_gpus(), 4);
  EXPECT_EQ(t.gpu_links().at(0, 1), nv(12));
  EXPECT_EQ(t.gpu_links().at(0, 2), nv(6));
  EXPECT_EQ(t.gpu_links().at(3, 1), nv(6));
}

TEST(TopologyTest, PrinterOutputReadsBack) {
  Topology t;
  ASSERT_TRUE(Topology::read_file(kDir + "switch_and_host_bridge.txt", &t).ok());
  const std::string text = format_topology(t);
  EXPECT_EQ(text.substr(0, text.find('\n')), "\tGPU0\tGPU1\tGPU2\tGPU3\tGPU4\tGPU5");
  Topology back;
  ASSERT_TRUE(Topology::parse(text + "\n" + link_legend(), "printed", &back).ok());
  ASSERT_EQ(back.num_gpus(), 6);
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 6; ++j) EXPECT_EQ(back.gpu_links().at(i, j), t.gpu_links().at(i, j));
  }
}

void expect_error(const std::string& text, const std::string& where, const std::string& token) {
  Topology t;
  const Status s = Topology::parse(text, "bad.txt", &t);
  ASSERT_FALSE(s.ok()) << text;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(where), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(token), std::string::npos) << s.message();
}

TEST(TopologyTest, ErrorsNameFileLineAndToken) {
  const std::string header = "\tGPU0\tGPU1\tCPU Affinity\n";
  expect_error(header + "GPU0\t X \tNV4\t0\nGPU1\tNVQ\t X \t0\n", "bad.txt:3:", "'NVQ'");
  expect_error(header + "GPU0\tPIX\tNV4\t0\n", "bad.txt:2:", "'PIX'");
  expect_error(header + "GPU0\t X \tPIX\t0\nGPU1\tSYS\t X \t0\n", "bad.txt:3:", "'SYS'");
  expect_error(header + "GPU0\t X \tPIX\nGPU7\tPIX\t X \n", "bad.txt:3:", "'GPU7'");
  expect_error(header + "GPU0\t X \tPIX\nGPU0\tPIX\t X \n", "bad.txt:3:", "'GPU0'");
  expect_error(header + "GPU0\t X \tPIX\nGPU1\tPIX\n", "bad.txt:3:", "'GPU1'");
  expect_error(header + "GPU0\t X \tPIX\n", "bad.txt:1:", "'GPU1'");
  expect_error(header + "GPU0\t X \tPIX\ngarbage\n", "bad.txt:3:", "'garbage'");
  expect_error("\n\tCPU Affinity\n", "bad.txt:2:", "'CPU'");
  expect_error("", "bad.txt", "header");
}

TEST(TopologyTest, MissingFileIsNotFound) {
  Topology t;
  const Status s = Topology::read_file(kDir + "no_such_file.txt", &t);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("no_such_file.txt"), std::string::npos);
}

TEST(TopologyTest, ParticipantLinksRepeatedIdsAndCpu) {
  Topology t;
  ASSERT_TRUE(Topology::read_file(kDir + "two_switches_two_sockets.txt", &t).ok());
  const std::vector<Device> devices = {Device::cuda(0), Device::cuda(0), Device::cuda(5),
                                       Device::cuda(1), Device::cpu(),   Device::cpu()};
  LinkMatrix links;
  ASSERT_TRUE(t.participant_links(devices, &links).ok());
  EXPECT_EQ(links.at(0, 1), level(LinkLevel::kSame));
  EXPECT_EQ(links.at(0, 2), level(LinkLevel::kSys));
  EXPECT_EQ(links.at(1, 3), level(LinkLevel::kPix));
  EXPECT_EQ(links.at(2, 4), level(LinkLevel::kPhb));
  EXPECT_EQ(links.at(4, 5), level(LinkLevel::kSame));
  const std::string text = format_link_matrix(participant_labels(devices), links);
  EXPECT_NE(text.find("\n1:cuda:0\tSAME\t X \tSYS\tPIX\tPHB\tPHB\n"), std::string::npos) << text;

  const Status s = t.participant_links({Device::cuda(0), Device::cuda(8)}, &links);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("cuda:8"), std::string::npos) << s.message();
}

TEST(TopologyTest, CpuOnlyTopologyLinksCpuWorkers) {
  Topology t;
  LinkMatrix links;
  ASSERT_TRUE(t.participant_links({Device::cpu(), Device::cpu(), Device::cpu()}, &links).ok());
  EXPECT_EQ(links.at(0, 2), level(LinkLevel::kSame));
  EXPECT_FALSE(t.participant_links({Device::cuda(0)}, &links).ok());
}

}  // namespace
}  // namespace banyan
