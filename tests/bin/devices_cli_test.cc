// `banyan devices`: the link matrix and exchange tree for a topology file
// (so it runs without GPUs), GPUs outside it, and a missing file.
#include <gtest/gtest.h>

#include <string>

#include "tests/common/run_command.h"

namespace banyan {
namespace {

const std::string kBanyan = std::string(BANYAN_BINARY_DIR) + "/bin/banyan";
const std::string kTopology = std::string(BANYAN_FIXTURES_DIR) + "/topology/";

// Runs banyan with `args`, stdout and stderr together; returns the exit code.
int run_banyan(const std::string& args, std::string* output) {
  const testing::RunResult r = testing::run_command(kBanyan + " " + args);
  *output = r.output;
  return r.exit_code;
}

TEST(DevicesCliTest, PrintsMatrixAndTreeFromATopologyFile) {
  std::string out;
  ASSERT_EQ(run_banyan("devices --topology=" + kTopology + "two_switches_two_sockets.txt", &out), 0)
      << out;
  EXPECT_NE(out.find("\t0:cuda:0\t1:cuda:1\t2:cuda:2"), std::string::npos) << out;
  EXPECT_NE(out.find("\n4:cuda:4\tSYS\tSYS\tSYS\tSYS\t X \tPIX\tPIX\tPIX\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("SYS(PIX(PIX(0 1) PIX(2 3)) PIX(PIX(4 5) PIX(6 7)))"), std::string::npos)
      << out;

  ASSERT_EQ(run_banyan("devices --devices=5,5,cpu --topology=" + kTopology + "nvlink_4.txt", &out),
            2)
      << out;
  EXPECT_NE(out.find("cuda:5"), std::string::npos) << out;
  ASSERT_EQ(run_banyan("devices --devices=3,3,1 --topology=" + kTopology + "nvlink_4.txt", &out), 0)
      << out;
  EXPECT_NE(out.find("NV6(SAME(0 1) 2)"), std::string::npos) << out;
}

TEST(DevicesCliTest, MissingTopologyFileIsAUsageError) {
  std::string out;
  EXPECT_EQ(run_banyan("devices --topology=" + kTopology + "missing.txt", &out), 2) << out;
  EXPECT_NE(out.find("missing.txt"), std::string::npos) << out;
}

}  // namespace
}  // namespace banyan
