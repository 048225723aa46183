// Topology discovery without a GPU: the sysfs placement rules on sample
// paths, reading placements from a fake sysfs tree (symlinks as the kernel
// makes them), and combining PCIe levels with NVLink counts or the
// performance-rank fallback.
#include "engine/exchange/topology_probe.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace banyan {
namespace {

namespace fs = std::filesystem;

PciPlacement at(const std::string& path, int node = 0) { return PciPlacement{path, node}; }
LinkLevel level(const PciPlacement& a, const PciPlacement& b) { return classify_pci(a, b).level; }

const std::string kSwitch = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0";

TEST(ClassifyPciTest, FollowsTheBridgeChains) {
  const PciPlacement gpu0 = at(kSwitch + "/0000:02:08.0/0000:03:00.0");
  const PciPlacement gpu1 = at(kSwitch + "/0000:02:10.0/0000:04:00.0");
  const PciPlacement deep = at(kSwitch + "/0000:02:10.0/0000:05:00.0/0000:06:00.0/0000:07:00.0");
  const PciPlacement other_port = at("/sys/devices/pci0000:00/0000:00:02.0/0000:08:00.0");
  const PciPlacement other_root = at("/sys/devices/pci0000:40/0000:40:01.0/0000:41:00.0");
  const PciPlacement other_socket = at("/sys/devices/pci0000:80/0000:80:01.0/0000:81:00.0", 1);
  EXPECT_EQ(level(gpu0, gpu1), LinkLevel::kPix);
  EXPECT_EQ(level(gpu0, deep), LinkLevel::kPxb);
  EXPECT_EQ(level(gpu0, other_port), LinkLevel::kPhb);
  EXPECT_EQ(level(gpu0, other_root), LinkLevel::kNode);
  EXPECT_EQ(level(gpu0, other_socket), LinkLevel::kSys);
  EXPECT_EQ(level(other_root, other_socket), LinkLevel::kSys);
  EXPECT_EQ(level(at(gpu0.sysfs_path, -1), at(other_root.sysfs_path, -1)), LinkLevel::kNode);
  EXPECT_EQ(level(gpu0, at("")), LinkLevel::kSys);
}

class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/banyan_sysfs_XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    root_ = dir;
    fs::create_directories(root_ / "bus/pci/devices");
  }
  void TearDown() override { fs::remove_all(root_); }
  void add(const std::string& chain, int numa) {
    const fs::path dev = root_ / "devices" / chain;
    fs::create_directories(dev);
    std::ofstream(dev / "numa_node") << numa << "\n";
    fs::create_directory_symlink(fs::path("../../..") / "devices" / chain,
                                 root_ / "bus/pci/devices" / dev.filename());
  }
  fs::path root_;
};

TEST_F(FakeSysfs, ReadsPlacementsThroughTheBusLinks) {
  add("pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:08.0/0000:03:00.0", 0);
  add("pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:10.0/0000:04:00.0", 0);
  add("pci0000:80/0000:80:01.0/0000:81:00.0", 1);
  PciPlacement a, b, c;
  ASSERT_TRUE(read_pci_placement(root_.string(), "0000:03:00.0", &a).ok());
  ASSERT_TRUE(read_pci_placement(root_.string(), "00000000:04:00.0", &b).ok());
  ASSERT_TRUE(read_pci_placement(root_.string(), "0000:81:00.0", &c).ok());
  EXPECT_NE(a.sysfs_path.find("pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:08.0"),
            std::string::npos)
      << a.sysfs_path;
  EXPECT_EQ(c.numa_node, 1);
  EXPECT_EQ(classify_pci(a, b).level, LinkLevel::kPix);
  EXPECT_EQ(classify_pci(a, c).level, LinkLevel::kSys);
  const Status missing = read_pci_placement(root_.string(), "0000:99:00.0", &a);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("0000:99:00.0"), std::string::npos);
}

GpuProbe probe_of(int n) {
  GpuProbe p;
  for (int i = 0; i < n; ++i) p.pci_bus_ids.push_back("0000:0" + std::to_string(i + 1) + ":00.0");
  p.peer_access.assign(n, std::vector<bool>(n, true));
  p.performance_rank.assign(n, std::vector<int>(n, 0));
  return p;
}

TEST(TopologyFromProbeTest, NvLinkCountsOverridePcie) {
  GpuProbe p = probe_of(3);
  p.nvlinks = {{0, 4, 0}, {4, 0, 0}, {0, 0, 0}};
  const std::vector<PciPlacement> where = {at(kSwitch + "/0000:02:08.0/0000:03:00.0"),
                                           at("/sys/devices/pci0000:40/0000:40:01.0/0000:41:00.0"),
                                           at(kSwitch + "/0000:02:10.0/0000:04:00.0")};
  const Topology t = topology_from_probe(p, where);
  EXPECT_EQ(t.gpu_links().at(0, 1), (Link{LinkLevel::kNvLink, 4}));
  EXPECT_EQ(t.gpu_links().at(0, 2), (Link{LinkLevel::kPix, 0}));
  EXPECT_EQ(t.gpu_links().at(1, 2), (Link{LinkLevel::kNode, 0}));
}

TEST(TopologyFromProbeTest, PerformanceRankFallbackWithoutNvml) {
  GpuProbe p = probe_of(3);
  p.performance_rank = {{-1, 0, 1}, {0, -1, 1}, {1, 1, -1}};
  const std::vector<PciPlacement> where(3, at("/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"));
  Topology t = topology_from_probe(p, where);
  EXPECT_EQ(t.gpu_links().at(0, 1), (Link{LinkLevel::kNvLink, 1}));
  EXPECT_EQ(t.gpu_links().at(0, 2).level, LinkLevel::kPix);
  // All ranks equal: nothing tells NVLink from PCIe, so nothing is called NVLink.
  p.performance_rank = {{-1, 0, 0}, {0, -1, 0}, {0, 0, -1}};
  t = topology_from_probe(p, where);
  EXPECT_EQ(t.gpu_links().at(0, 1).level, LinkLevel::kPix);
}

TEST(TopologyFromProbeTest, ProbeWithoutGpusGivesAnEmptyTopology) {
  Topology t;
  std::string notes;
  ASSERT_TRUE(probe_topology(&t, &notes).ok());
#ifndef BANYAN_WITH_CUDA
  EXPECT_EQ(t.num_gpus(), 0);
  EXPECT_FALSE(notes.empty());
#endif
}

}  // namespace
}  // namespace banyan
