// The Data layer on a GPU against the CPU: the uint8 batch uploaded and
// converted on the device (mean, scale at the crop's source pixels) equals
// the CPU conversion bit for bit, labels included, across iterations, a
// restart (new test pass) and G groups.  Skipped without a GPU.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "data/datum.h"
#include "data/lmdb.h"
#include "engine/core/context.h"
#include "engine/core/tensor.h"
#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

const Device kGpu = Device::cuda(0);

// A Data layer with its tops and context on `device`.
struct DataRun {
  DataRun(const LayerConfig& c, Device device, int group, int groups)
      : ctx(device, 5, WorkerPlacement{group, groups, 0, 1}), device_(device) {
    EXPECT_TRUE(create_layer(c, &layer).ok());
    layer->set_device(device);
    if (device.is_cuda()) {
      EXPECT_TRUE(ctx.init_device().ok());
    }
    Status s = layer->setup({}, {&data, &label});
    EXPECT_TRUE(s.ok()) << s.message();
    if (device.is_cuda()) {
      EXPECT_TRUE(layer->prepare_device(ctx).ok());
    }
    EXPECT_TRUE(data.allocate(device).ok());
    EXPECT_TRUE(label.allocate(device).ok());
  }
  // Runs (phase, iteration); returns data then labels on the host.
  std::vector<float> run(Phase phase, int64_t it) {
    ctx.step().phase = phase;
    ctx.step().iteration = it;
    layer->forward({}, {&data, &label}, ctx);
    std::vector<float> out(data.count() + label.count());
    EXPECT_TRUE(copy_to_host(data.data(), data.count(), device_, out.data()).ok());
    EXPECT_TRUE(copy_to_host(label.data(), label.count(), device_, out.data() + data.count()).ok());
    return out;
  }

  WorkerContext ctx;
  Device device_;
  std::unique_ptr<Layer> layer;
  Blob data{"data"}, label{"label"};
};

TEST(GpuDataLayerTest, MatchesTheCpuBitForBit) {
  BANYAN_SKIP_WITHOUT_GPU();
  std::string dir = ::testing::TempDir() + "banyan_gpu_data_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string src = dir + "/raw";
  {
    LmdbWriter wr;
    ASSERT_TRUE(LmdbWriter::open(src, LmdbWriterOptions(), &wr).ok());
    for (int i = 0; i < 23; ++i) {
      DatumRecord d;
      d.channels = 3;
      d.height = 9;
      d.width = 10;
      for (int j = 0; j < 270; ++j) d.data.push_back(static_cast<char>((i * 31 + j * 7) % 251));
      d.label = i;
      ASSERT_TRUE(wr.put(std::to_string(1000 + i), serialize_datum(d)).ok());
    }
    ASSERT_TRUE(wr.close().ok());
  }
  LayerConfig c;
  c.name = "data";
  c.type = "Data";
  c.top = {"data", "label"};
  c.data.source = src;
  c.data.batch_size = 4;
  c.transform.crop_size = 7;
  c.transform.mirror = true;
  c.transform.mean_value = {10.0f, 120.0f, 7.5f};
  c.transform.scale = 0.017f;
  for (int groups : {1, 2}) {
    for (int g = 0; g < groups; ++g) {
      DataRun cpu(c, Device::cpu(), g, groups), gpu(c, kGpu, g, groups);
      for (auto [phase, it] : std::vector<std::pair<Phase, int>>{{Phase::kTrain, 0},
                                                                 {Phase::kTrain, 1},
                                                                 {Phase::kTrain, 2},
                                                                 {Phase::kTrain, 7},
                                                                 {Phase::kTest, 0},
                                                                 {Phase::kTest, 1}}) {
        ASSERT_EQ(gpu.run(phase, it), cpu.run(phase, it))
            << phase_name(phase) << " iteration " << it << " group " << g << "/" << groups;
      }
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace banyan
