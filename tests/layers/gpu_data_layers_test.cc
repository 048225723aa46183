// DummyData, ImageData and HDF5Data on a GPU against the CPU over several
// passes: HDF5 rows and images exactly, DummyData's uniform and constant tops
// exactly and its gaussian tops within an ulp-level tolerance (the device's
// logf/cosf).  Skipped without a GPU.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "data/jpeg.h"
#include "engine/core/context.h"
#include "engine/core/tensor.h"
#include "layers/registry.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

// A layer without bottoms, its tops and context on `device`.
struct SourceRun {
  SourceRun(const LayerConfig& c, Device device) : ctx(device, 5), device_(device) {
    EXPECT_TRUE(create_layer(c, &layer).ok());
    layer->set_device(device);
    if (device.is_cuda()) EXPECT_TRUE(ctx.init_device().ok());
    for (const std::string& name : c.top) tops.push_back(std::make_unique<Blob>(name));
    for (auto& t : tops) ptrs.push_back(t.get());
    Status s = layer->setup({}, ptrs);
    EXPECT_TRUE(s.ok()) << s.message();
    if (device.is_cuda()) EXPECT_TRUE(layer->prepare_device(ctx).ok());
    for (Blob* b : ptrs) EXPECT_TRUE(b->allocate(device).ok());
  }
  // Runs (phase, iteration); every top's values on the host, in order.
  std::vector<float> run(Phase phase, int64_t it) {
    ctx.step().phase = phase;
    ctx.step().iteration = it;
    ctx.step().sample_base = it * ptrs[0]->dim(0);
    layer->forward({}, ptrs, ctx);
    EXPECT_FALSE(ctx.has_error()) << ctx.take_error().message();
    std::vector<float> out;
    for (Blob* b : ptrs) {
      std::vector<float> v(b->count());
      EXPECT_TRUE(copy_to_host(b->data(), b->count(), device_, v.data()).ok());
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  }

  WorkerContext ctx;
  Device device_;
  std::unique_ptr<Layer> layer;
  std::vector<std::unique_ptr<Blob>> tops;
  std::vector<Blob*> ptrs;
};

void expect_same(const LayerConfig& c, float tolerance) {
  SourceRun cpu(c, Device::cpu()), gpu(c, Device::cuda(0));
  for (auto [phase, it] : std::vector<std::pair<Phase, int>>{
           {Phase::kTrain, 0}, {Phase::kTrain, 1}, {Phase::kTrain, 2}, {Phase::kTest, 0}}) {
    const std::vector<float> a = cpu.run(phase, it), b = gpu.run(phase, it);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_NEAR(b[i], a[i], tolerance * std::max(1.0f, std::fabs(a[i])))
          << c.type << " pass " << it << " element " << i;
    }
  }
}

std::string temp_dir() {
  std::string dir = ::testing::TempDir() + "banyan_gpu_sources_XXXXXX";
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  return dir + "/";
}

TEST(GpuDataLayersTest, DummyDataMatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  LayerConfig c;
  c.name = "dummy";
  c.type = "DummyData";
  c.top = {"a", "b", "c"};
  c.dummy_data.shapes = {Shape{4, 3, 7, 5}, Shape{4}, Shape{4, 10}};
  FillerConfig uniform, constant, xavier;
  uniform.type = "uniform";
  uniform.min = -1.0f;
  uniform.max = 2.0f;
  constant.value = 0.25f;
  xavier.type = "xavier";
  c.dummy_data.fillers = {uniform, constant, xavier};
  expect_same(c, 0.0f);
  FillerConfig gaussian;
  gaussian.type = "gaussian";
  gaussian.mean = 1.0f;
  gaussian.std = 2.0f;
  c.dummy_data.fillers = {gaussian};
  expect_same(c, 1e-5f);
}

TEST(GpuDataLayersTest, Hdf5DataMatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  const std::string dir = temp_dir();
  std::ofstream list(dir + "list.txt");
  for (int f = 0; f < 2; ++f) {
    const std::string path = dir + std::to_string(f) + ".h5";
    hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t rows = 5 + f, dims[2] = {rows, 4};
    std::vector<float> data(rows * 4), label(rows);
    for (size_t i = 0; i < data.size(); ++i) data[i] = 0.1f * i + f;
    for (size_t i = 0; i < rows; ++i) label[i] = 10.0f * f + i;
    hid_t s2 = H5Screate_simple(2, dims, nullptr), s1 = H5Screate_simple(1, dims, nullptr);
    hid_t d = H5Dcreate2(file, "data", H5T_IEEE_F32LE, s2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t l = H5Dcreate2(file, "label", H5T_IEEE_F32LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
    H5Dwrite(l, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, label.data());
    H5Dclose(d);
    H5Dclose(l);
    H5Sclose(s2);
    H5Sclose(s1);
    H5Fclose(file);
    list << path << "\n";
  }
  list.close();
  LayerConfig c;
  c.name = "h5";
  c.type = "HDF5Data";
  c.top = {"data", "label"};
  c.hdf5_data.source = dir + "list.txt";
  c.hdf5_data.batch_size = 4;
  c.hdf5_data.shuffle = true;
  expect_same(c, 0.0f);
  std::filesystem::remove_all(dir);
}

TEST(GpuDataLayersTest, ImageDataMatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  const std::string dir = temp_dir();
  std::ofstream list(dir + "list.txt");
  JpegEncoder enc;
  for (int i = 0; i < 5; ++i) {
    HwcImage img{9, 8, 3, {}};
    for (int p = 0; p < 9 * 8 * 3; ++p) img.pixels.push_back(static_cast<uint8_t>(p * 3 + i * 17));
    std::string bytes;
    ASSERT_TRUE(enc.encode(img, 90, &bytes).ok());
    std::ofstream(dir + std::to_string(i) + ".jpg", std::ios::binary) << bytes;
    list << i << ".jpg " << i << "\n";
  }
  list.close();
  LayerConfig c;
  c.name = "images";
  c.type = "ImageData";
  c.top = {"data", "label"};
  c.image_data.source = dir + "list.txt";
  c.image_data.root_folder = dir;
  c.image_data.batch_size = 3;
  c.image_data.shuffle = true;
  c.transform.crop_size = 6;
  c.transform.mirror = true;
  c.transform.mean_value = {100.0f, 110.0f, 120.0f};
  c.transform.scale = 0.02f;
  expect_same(c, 0.0f);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace banyan
