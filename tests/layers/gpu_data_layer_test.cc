// The Data layer on a GPU against the CPU: the uint8 batch uploaded and
// converted on the device (mean, scale at the crop's source pixels), or the
// float_data values uploaded with the batch, equal the CPU's bit for bit,
// labels included, across iterations, a restart (new test pass) and G
// groups, also with forwards queued back to back; forward never waits for
// the device.  Skipped without a GPU.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "data/datum.h"
#include "data/lmdb.h"
#include "engine/core/context.h"
#include "engine/core/tensor.h"
#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"
#ifdef BANYAN_WITH_CUDA
#include <cuda_runtime_api.h>

#include "engine/core/gpu_resources.h"
#endif

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

// 23 records of 3 x 9 x 10, uint8 pixels or float_data, labels 0..22.
std::string write_records(const std::string& dir, bool floats) {
  const std::string src = dir + (floats ? "/float" : "/raw");
  LmdbWriter wr;
  EXPECT_TRUE(LmdbWriter::open(src, LmdbWriterOptions(), &wr).ok());
  for (int i = 0; i < 23; ++i) {
    DatumRecord d;
    d.channels = 3;
    d.height = 9;
    d.width = 10;
    for (int j = 0; j < 270; ++j) {
      const int v = (i * 31 + j * 7) % 251;
      if (floats) {
        d.float_data.push_back(0.25f * v - 11.0f);
      } else {
        d.data.push_back(static_cast<char>(v));
      }
    }
    d.label = i;
    EXPECT_TRUE(wr.put(std::to_string(1000 + i), serialize_datum(d)).ok());
  }
  EXPECT_TRUE(wr.close().ok());
  return src;
}

LayerConfig data_config(const std::string& src) {
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
  return c;
}

class GpuDataLayerTest : public ::testing::TestWithParam<bool> {};  // float_data?

TEST_P(GpuDataLayerTest, MatchesTheCpuBitForBit) {
  BANYAN_SKIP_WITHOUT_GPU();
  std::string dir = ::testing::TempDir() + "banyan_gpu_data_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const LayerConfig c = data_config(write_records(dir, GetParam()));
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

#ifdef BANYAN_WITH_CUDA
// Forwards queued back to back without any host wait in between (as in
// training): each batch's values are copied away on the compute stream and
// checked after one synchronisation, so a staging buffer or event reused
// too early shows as a wrong batch.  forward itself must not wait for the
// device: it returns while a long kernel queued before it still runs.
TEST_P(GpuDataLayerTest, QueuedForwardsKeepEveryBatch) {
  BANYAN_SKIP_WITHOUT_GPU();
  std::string dir = ::testing::TempDir() + "banyan_gpu_data_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const LayerConfig c = data_config(write_records(dir, GetParam()));
  DataRun cpu(c, Device::cpu(), 0, 1), gpu(c, kGpu, 0, 1);
  constexpr int kRuns = 6;
  const int64_t n = gpu.data.count() + gpu.label.count();
  Buffer copies;
  ASSERT_TRUE(Buffer::allocate(kGpu, kRuns * n * sizeof(float), &copies).ok());
  const cudaStream_t compute = gpu.ctx.gpu().compute();
  float* out = static_cast<float*>(copies.data());
  // Tens of milliseconds of device work ahead of the forwards (64 MiB
  // memsets at a few TB/s), queued once the pipeline has its batches ready.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Buffer spin;
  ASSERT_TRUE(Buffer::allocate(kGpu, sizeof(float) << 24, &spin).ok());
  for (int k = 0; k < 4000; ++k) {
    ASSERT_EQ(cudaMemsetAsync(spin.data(), k, spin.bytes(), compute), cudaSuccess);
  }
  for (int it = 0; it < kRuns; ++it) {
    gpu.ctx.step().phase = Phase::kTrain;
    gpu.ctx.step().iteration = it;
    gpu.layer->forward({}, {&gpu.data, &gpu.label}, gpu.ctx);
    if (it == 0) {
      EXPECT_EQ(cudaStreamQuery(compute), cudaErrorNotReady) << "forward waited for the device";
    }
    ASSERT_EQ(cudaMemcpyAsync(out + it * n, gpu.data.data(), gpu.data.count() * sizeof(float),
                              cudaMemcpyDeviceToDevice, compute),
              cudaSuccess);
    ASSERT_EQ(cudaMemcpyAsync(out + it * n + gpu.data.count(), gpu.label.data(),
                              gpu.label.count() * sizeof(float), cudaMemcpyDeviceToDevice, compute),
              cudaSuccess);
  }
  ASSERT_TRUE(gpu.ctx.gpu().synchronize("queued forwards").ok());
  std::vector<float> all(static_cast<size_t>(kRuns * n));
  ASSERT_TRUE(copy_to_host(out, kRuns * n, kGpu, all.data()).ok());
  for (int it = 0; it < kRuns; ++it) {
    const std::vector<float> expected = cpu.run(Phase::kTrain, it);
    const std::vector<float> got(all.begin() + it * n, all.begin() + (it + 1) * n);
    ASSERT_EQ(got, expected) << "iteration " << it;
  }
  std::filesystem::remove_all(dir);
}
#endif

INSTANTIATE_TEST_SUITE_P(Formats, GpuDataLayerTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return std::string(p.param ? "FloatData" : "Uint8");
                         });

}  // namespace
}  // namespace banyan
