// `banyan devices`: the link matrix and exchange tree for a topology file
// (so it runs without GPUs), GPUs outside it, and a missing file.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace banyan {
namespace {

const std::string kBanyan = std::string(BANYAN_BINARY_DIR) + "/bin/banyan";
const std::string kTopology = std::string(BANYAN_FIXTURES_DIR) + "/topology/";

// Runs banyan with `args`, stdout and stderr together; returns the exit code.
int run_banyan(const std::string& args, std::string* output) {
  FILE* pipe = popen((kBanyan + " " + args + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  output->clear();
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output->append(buf, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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
