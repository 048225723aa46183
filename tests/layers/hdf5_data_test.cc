// Tests of the HDF5Data layer on .h5 files written here with the HDF5 C API:
// shapes from the datasets named like the tops (float and double), rows in
// order across files with wrap-around, TRAIN shuffle (every row once per
// epoch, a file's rows together), worker groups reading disjoint slices, and
// setup errors naming the list, file and dataset.
#include "layers/hdf5_data.h"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "layers/registry.h"

namespace banyan {
namespace {

// Writes one dataset; `as_double` stores doubles, else floats.
void write_dataset(hid_t file, const std::string& name, const std::vector<hsize_t>& dims,
                   const std::vector<double>& values, bool as_double) {
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t type = as_double ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
  hid_t set = H5Dcreate2(file, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(set, 0);
  ASSERT_GE(H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  H5Dclose(set);
  H5Sclose(space);
}

// Row r of file f: data (2, 3) values f * 100 + r * 10 + j + 0.5, label f * 100 + r.
void write_h5(const std::string& path, int f, int rows, int data_rows = -1) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  std::vector<double> data, label;
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < 6; ++j) data.push_back(f * 100 + r * 10 + j + 0.5);
    label.push_back(f * 100 + r);
  }
  const hsize_t n = data_rows < 0 ? rows : data_rows;
  data.resize(n * 6);
  write_dataset(file, "data", {n, 2, 3}, data, false);
  write_dataset(file, "label", {static_cast<hsize_t>(rows)}, label, true);
  H5Fclose(file);
}

class Hdf5DataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "banyan_hdf5_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern + "/";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Files of `rows[f]` rows each, listed in order.
  std::string write_files(const std::vector<int>& rows) {
    std::ofstream list(dir_ + "list.txt");
    for (size_t f = 0; f < rows.size(); ++f) {
      const std::string path = dir_ + "f" + std::to_string(f) + ".h5";
      write_h5(path, static_cast<int>(f), rows[f]);
      list << path << "\n";
    }
    return dir_ + "list.txt";
  }
  static LayerConfig config(const std::string& list, int batch) {
    LayerConfig c;
    c.name = "h5";
    c.type = "HDF5Data";
    c.top = {"data", "label"};
    c.hdf5_data.source = list;
    c.hdf5_data.batch_size = batch;
    return c;
  }

  std::string dir_;
};

struct H5Run {
  H5Run(const LayerConfig& c, int group = 0, int groups = 1)
      : layer(new_hdf5_data_layer(c)),
        ctx(Device::cpu(), 9, WorkerPlacement{group, groups, 0, 1}) {}
  Status setup() {
    BANYAN_RETURN_IF_ERROR(layer->setup({}, {&data, &label}));
    BANYAN_RETURN_IF_ERROR(data.allocate(Device::cpu()));
    return label.allocate(Device::cpu());
  }
  std::vector<int> run(Phase phase, int64_t it) {
    std::fill(data.data(), data.data() + data.count(), -7.0f);
    ctx.step().phase = phase;
    const WorkerPlacement& p = ctx.placement();
    ctx.step().sample_base = (it * p.num_groups + p.group_index) * data.dim(0);
    layer->forward({}, {&data, &label}, ctx);
    return std::vector<int>(label.data(), label.data() + label.count());
  }
  std::unique_ptr<Layer> layer;
  WorkerContext ctx;
  Blob data{"data"}, label{"label"};
};

TEST_F(Hdf5DataTest, RowsInOrderAcrossFilesWrappingAround) {
  H5Run r(config(write_files({3, 2}), 4));
  ASSERT_TRUE(r.setup().ok());
  EXPECT_EQ(r.data.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(r.label.shape(), (Shape{4}));
  EXPECT_EQ(r.run(Phase::kTrain, 0), (std::vector<int>{0, 1, 2, 100}));
  for (int n = 0; n < 4; ++n) {
    const int f = n < 3 ? 0 : 1, row = n < 3 ? n : 0;
    for (int j = 0; j < 6; ++j) {
      ASSERT_EQ(r.data.data()[n * 6 + j], f * 100 + row * 10 + j + 0.5f) << n << " " << j;
    }
  }
  EXPECT_EQ(r.run(Phase::kTrain, 1), (std::vector<int>{101, 0, 1, 2}));
  EXPECT_EQ(r.run(Phase::kTrain, 2), (std::vector<int>{100, 101, 0, 1}));
  EXPECT_EQ(r.run(Phase::kTrain, 0), (std::vector<int>{0, 1, 2, 100}));  // back again
}

TEST_F(Hdf5DataTest, ShuffleKeepsFilesTogetherAndCoversEveryRow) {
  LayerConfig c = config(write_files({4, 3, 5}), 4);
  c.hdf5_data.shuffle = true;
  H5Run r(c);
  ASSERT_TRUE(r.setup().ok());
  std::vector<int> seq;
  for (int it = 0; it < 6; ++it) {  // 24 samples: two epochs of 12
    for (int l : r.run(Phase::kTrain, it)) seq.push_back(l);
  }
  std::vector<int> all = {0, 1, 2, 3, 100, 101, 102, 200, 201, 202, 203, 204};
  for (int e = 0; e < 2; ++e) {
    std::vector<int> epoch(seq.begin() + 12 * e, seq.begin() + 12 * (e + 1));
    EXPECT_NE(epoch, all);
    // A file's rows come out together: the file changes 2 times per epoch.
    int changes = 0;
    for (int i = 1; i < 12; ++i) changes += epoch[i] / 100 != epoch[i - 1] / 100;
    EXPECT_EQ(changes, 2) << e;
    std::sort(epoch.begin(), epoch.end());
    EXPECT_EQ(epoch, all) << e;
  }
  EXPECT_NE(std::vector<int>(seq.begin(), seq.begin() + 12),
            std::vector<int>(seq.begin() + 12, seq.end()));
  EXPECT_EQ(r.run(Phase::kTest, 0), (std::vector<int>{0, 1, 2, 3}));  // TEST: in order
}

TEST_F(Hdf5DataTest, GroupsReadTheSlicesOfOneLargerBatch) {
  const std::string list = write_files({5, 4});
  LayerConfig c = config(list, 6);
  c.hdf5_data.shuffle = true;
  H5Run one(c);
  ASSERT_TRUE(one.setup().ok());
  c.hdf5_data.batch_size = 3;
  H5Run g0(c, 0, 2), g1(c, 1, 2);
  ASSERT_TRUE(g0.setup().ok());
  ASSERT_TRUE(g1.setup().ok());
  for (int it = 0; it < 4; ++it) {
    std::vector<int> all = one.run(Phase::kTrain, it);
    std::vector<int> a = g0.run(Phase::kTrain, it), b = g1.run(Phase::kTrain, it);
    a.insert(a.end(), b.begin(), b.end());
    EXPECT_EQ(a, all) << it;
  }
}

TEST_F(Hdf5DataTest, SetupErrorsNameListFileAndDataset) {
  auto fails_with = [&](const LayerConfig& c, StatusCode code, const std::string& part) {
    H5Run r(c);
    Status s = r.setup();
    EXPECT_EQ(s.code(), code) << s.message();
    EXPECT_NE(s.message().find("layer 'h5'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(part), std::string::npos) << part << " in " << s.message();
  };
  fails_with(config(dir_ + "none.txt", 2), StatusCode::kInvalidArgument, "none.txt");
  std::ofstream(dir_ + "empty.txt") << "\n";
  fails_with(config(dir_ + "empty.txt", 2), StatusCode::kInvalidArgument, "lists no file");
  std::ofstream(dir_ + "missing.txt") << dir_ << "gone.h5\n";
  fails_with(config(dir_ + "missing.txt", 2), StatusCode::kNotFound, "gone.h5");
  const std::string list = write_files({3});
  LayerConfig c = config(list, 2);
  c.top = {"data", "labels"};
  fails_with(c, StatusCode::kNotFound, "dataset 'labels'");
  c = config(list, 0);
  fails_with(c, StatusCode::kInvalidArgument, "batch_size");
  write_h5(dir_ + "uneven.h5", 0, 3, 2);  // data 2 rows, label 3
  std::ofstream(dir_ + "uneven.txt") << dir_ << "uneven.h5\n";
  fails_with(config(dir_ + "uneven.txt", 2), StatusCode::kInvalidArgument, "same first dimension");
  std::ofstream(dir_ + "junk.h5") << "not hdf5";
  std::ofstream(dir_ + "junk.txt") << dir_ << "junk.h5\n";
  fails_with(config(dir_ + "junk.txt", 2), StatusCode::kDataLoss, "junk.h5");
}

}  // namespace
}  // namespace banyan
