// Tests of the Data layer: shapes, sample order (sequential in TEST, a
// seeded permutation per epoch in TRAIN), coverage across worker groups,
// independence of the group count, JPEG records, and setup errors.
#include "layers/data_layer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "data/datum.h"
#include "data/jpeg.h"
#include "data/lmdb.h"
#include "layers/registry.h"

namespace banyan {
namespace {

// Pixel j of record i (never zero), so outputs identify their record.
uint8_t pixel_of(int i, int j) { return static_cast<uint8_t>((i * 29 + j * 7) % 250 + 1); }

class DataLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "banyan_data_layer_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // n raw records of c x h x w with label i.
  std::string write_raw(int n, int c, int h, int w) {
    std::string path = dir_ + "/raw_" + std::to_string(n);
    LmdbWriter wr;
    EXPECT_TRUE(LmdbWriter::open(path, LmdbWriterOptions(), &wr).ok());
    for (int i = 0; i < n; ++i) {
      DatumRecord d;
      d.channels = c;
      d.height = h;
      d.width = w;
      for (int j = 0; j < c * h * w; ++j) d.data.push_back(static_cast<char>(pixel_of(i, j)));
      d.label = i;
      char key[16];
      std::snprintf(key, sizeof(key), "%08d", i);
      EXPECT_TRUE(wr.put(key, serialize_datum(d)).ok());
    }
    EXPECT_TRUE(wr.close().ok());
    return path;
  }

  static LayerConfig config(const std::string& source, int batch) {
    LayerConfig c;
    c.name = "data";
    c.type = "Data";
    c.top = {"data", "label"};
    c.data.source = source;
    c.data.batch_size = batch;
    return c;
  }

  std::string dir_;
};

// One Data layer with its own tops and worker context.
struct Runner {
  Runner(const LayerConfig& config, uint64_t seed, int group, int groups, Phase phase)
      : layer(new_data_layer(config)),
        ctx(Device::cpu(), seed, WorkerPlacement{group, groups, 0, 1}) {
    ctx.step().phase = phase;
  }
  Status setup() {
    BANYAN_RETURN_IF_ERROR(layer->setup({}, {&data, &label}));
    BANYAN_RETURN_IF_ERROR(data.allocate(Device::cpu()));
    return label.allocate(Device::cpu());
  }
  // Runs iteration `it`; returns the labels.
  std::vector<int> run(int64_t it) {
    std::fill(data.data(), data.data() + data.count(), -7.0f);  // poison
    std::fill(label.data(), label.data() + label.count(), -7.0f);
    ctx.step().iteration = it;
    const WorkerPlacement& p = ctx.placement();
    ctx.step().sample_base = (it * p.num_groups + p.group_index) * data.dim(0);
    layer->forward({}, {&data, &label}, ctx);
    return std::vector<int>(label.data(), label.data() + label.count());
  }
  std::vector<float> sample(int n) const {
    int64_t per = data.count() / data.dim(0);
    return std::vector<float>(data.data() + n * per, data.data() + (n + 1) * per);
  }

  std::unique_ptr<Layer> layer;
  WorkerContext ctx;
  Blob data{"data"}, label{"label"};
};

TEST_F(DataLayerTest, Shapes) {
  std::string src = write_raw(5, 3, 6, 8);
  Runner r(config(src, 4), 1, 0, 1, Phase::kTest);
  ASSERT_TRUE(r.setup().ok());
  EXPECT_EQ(r.data.shape(), (Shape{4, 3, 6, 8}));
  EXPECT_EQ(r.label.shape(), (Shape{4}));
  LayerConfig c = config(src, 2);
  c.transform.crop_size = 5;
  std::unique_ptr<Layer> l = new_data_layer(c);
  Blob data;
  ASSERT_TRUE(l->setup({}, {&data}).ok());  // label top is optional
  EXPECT_EQ(data.shape(), (Shape{2, 3, 5, 5}));
  EXPECT_FALSE(l->can_propagate_down(0));
}

TEST_F(DataLayerTest, TestOrderIsSequentialAndPixelsExact) {
  const int n = 7, batch = 3;
  Runner r(config(write_raw(n, 2, 3, 4), batch), 9, 0, 1, Phase::kTest);
  ASSERT_TRUE(r.setup().ok());
  for (int it = 0; it < 5; ++it) {
    std::vector<int> labels = r.run(it);
    for (int k = 0; k < batch; ++k) {
      const int record = (it * batch + k) % n;  // wraps around the end
      ASSERT_EQ(labels[k], record);
      std::vector<float> pixels = r.sample(k);
      for (int j = 0; j < 24; ++j) ASSERT_EQ(pixels[j], pixel_of(record, j)) << it << " " << k;
    }
  }
}

TEST_F(DataLayerTest, EveryRecordOncePerEpochAcrossGroups) {
  const int n = 25, batch = 4, groups = 2;  // 25 records: epochs straddle batches
  std::string src = write_raw(n, 1, 2, 2);
  std::vector<std::unique_ptr<Runner>> runners;
  for (int g = 0; g < groups; ++g) {
    runners.push_back(std::make_unique<Runner>(config(src, batch), 5, g, groups, Phase::kTrain));
    ASSERT_TRUE(runners.back()->setup().ok());
  }
  // Global sample s -> label, over 3 epochs.
  std::vector<int> by_sample(3 * n + groups * batch, -1);
  for (int it = 0; it * groups * batch < 3 * n; ++it) {
    for (int g = 0; g < groups; ++g) {
      std::vector<int> labels = runners[g]->run(it);
      for (int k = 0; k < batch; ++k) by_sample[(it * groups + g) * batch + k] = labels[k];
    }
  }
  std::vector<std::vector<int>> epochs;
  for (int e = 0; e < 3; ++e) {
    std::vector<int> order(by_sample.begin() + e * n, by_sample.begin() + (e + 1) * n);
    std::vector<int> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < n; ++i) ASSERT_EQ(sorted[i], i) << "epoch " << e;
    epochs.push_back(order);
  }
  std::vector<int> identity(n);
  for (int i = 0; i < n; ++i) identity[i] = i;
  EXPECT_NE(epochs[0], identity);   // shuffled
  EXPECT_NE(epochs[0], epochs[1]);  // a new order each epoch
  EXPECT_NE(epochs[1], epochs[2]);
}

TEST_F(DataLayerTest, SameSeedSameBatchesOtherSeedOthers) {
  std::string src = write_raw(40, 1, 4, 4);
  LayerConfig c = config(src, 8);
  c.transform.crop_size = 3;
  c.transform.mirror = true;
  Runner a(c, 77, 0, 1, Phase::kTrain), b(c, 77, 0, 1, Phase::kTrain),
      o(c, 78, 0, 1, Phase::kTrain);
  ASSERT_TRUE(a.setup().ok());
  ASSERT_TRUE(b.setup().ok());
  ASSERT_TRUE(o.setup().ok());
  // b runs the iterations in another order; results depend only on the iteration.
  std::vector<std::vector<float>> b_data(6);
  std::vector<std::vector<int>> b_labels(6);
  for (int it : {5, 2, 0, 4, 1, 3}) {
    b_labels[it] = b.run(it);
    b_data[it].assign(b.data.data(), b.data.data() + b.data.count());
  }
  int differing = 0;
  for (int it = 0; it < 6; ++it) {
    EXPECT_EQ(a.run(it), b_labels[it]) << it;
    EXPECT_EQ(std::vector<float>(a.data.data(), a.data.data() + a.data.count()), b_data[it]);
    differing += o.run(it) != b_labels[it];
  }
  EXPECT_GT(differing, 3);
}

TEST_F(DataLayerTest, ShuffleOffAndTestPhaseAreIdentity) {
  std::string src = write_raw(6, 1, 2, 2);
  LayerConfig c = config(src, 6);
  c.data.shuffle = false;
  Runner r(c, 3, 0, 1, Phase::kTrain);
  ASSERT_TRUE(r.setup().ok());
  EXPECT_EQ(r.run(1), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  Runner t(config(src, 6), 3, 0, 1, Phase::kTest);
  ASSERT_TRUE(t.setup().ok());
  EXPECT_EQ(t.run(4), (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST_F(DataLayerTest, BatchesDoNotDependOnTheGroupCount) {
  const int batch = 3;
  std::string src = write_raw(11, 2, 5, 6);
  LayerConfig c = config(src, 2 * batch);
  c.transform.crop_size = 4;
  c.transform.mirror = true;
  c.transform.scale = 0.5f;
  c.transform.mean_value = {10.0f, 20.0f};
  Runner one(c, 21, 0, 1, Phase::kTrain);
  ASSERT_TRUE(one.setup().ok());
  c.data.batch_size = batch;
  Runner g0(c, 21, 0, 2, Phase::kTrain), g1(c, 21, 1, 2, Phase::kTrain);
  ASSERT_TRUE(g0.setup().ok());
  ASSERT_TRUE(g1.setup().ok());
  for (int it = 0; it < 5; ++it) {  // 30 samples: almost 3 epochs of 11
    std::vector<int> all = one.run(it);
    Runner* groups[2] = {&g0, &g1};
    for (int g = 0; g < 2; ++g) {
      std::vector<int> part = groups[g]->run(it);
      for (int k = 0; k < batch; ++k) {
        ASSERT_EQ(part[k], all[g * batch + k]) << "iteration " << it << " group " << g;
        ASSERT_EQ(groups[g]->sample(k), one.sample(g * batch + k));
      }
    }
  }
}

TEST_F(DataLayerTest, ReadsJpegRecords) {
  const int n = 4, h = 12, w = 10;
  std::string path = dir_ + "/jpeg";
  LmdbWriter wr;
  ASSERT_TRUE(LmdbWriter::open(path, LmdbWriterOptions(), &wr).ok());
  JpegEncoder enc;
  std::vector<HwcImage> sources;
  for (int i = 0; i < n; ++i) {
    HwcImage img{h, w, 3, {}};
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        for (int k = 0; k < 3; ++k) img.pixels.push_back(40 + 50 * k + 4 * x + 3 * y + 9 * i);
      }
    }
    DatumRecord d;
    d.encoded = true;
    d.label = 10 + i;
    ASSERT_TRUE(enc.encode(img, 98, &d.data).ok());
    ASSERT_TRUE(wr.put("img" + std::to_string(i), serialize_datum(d)).ok());
    sources.push_back(img);
  }
  ASSERT_TRUE(wr.close().ok());
  Runner r(config(path, n), 1, 0, 1, Phase::kTest);
  ASSERT_TRUE(r.setup().ok());
  EXPECT_EQ(r.data.shape(), (Shape{n, 3, h, w}));
  std::vector<int> labels = r.run(0);
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(labels[i], 10 + i);
    std::vector<float> s = r.sample(i);
    for (int k = 0; k < 3; ++k) {
      for (int p = 0; p < h * w; ++p) {
        ASSERT_NEAR(s[k * h * w + p], sources[i].pixels[p * 3 + k], 6.0) << i << " " << k;
      }
    }
  }
  // force_gray decodes one channel.
  LayerConfig c = config(path, 2);
  c.transform.force_gray = true;
  Runner g(c, 1, 0, 1, Phase::kTest);
  ASSERT_TRUE(g.setup().ok());
  EXPECT_EQ(g.data.shape(), (Shape{2, 1, h, w}));
}

TEST_F(DataLayerTest, SetupErrorsNameLayerAndPath) {
  const std::string missing = dir_ + "/no_such_lmdb";
  Runner r(config(missing, 4), 1, 0, 1, Phase::kTrain);
  Status s = r.setup();
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("layer 'data'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();

  LayerConfig c = config(write_raw(3, 1, 5, 6), 2);
  c.transform.crop_size = 6;
  Runner crop(c, 1, 0, 1, Phase::kTrain);
  s = crop.setup();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("layer 'data'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("crop_size 6"), std::string::npos) << s.message();

  c.transform.crop_size = 0;
  c.data.batch_size = 0;
  Runner zero(c, 1, 0, 1, Phase::kTrain);
  EXPECT_EQ(zero.setup().code(), StatusCode::kInvalidArgument);

  std::string empty = dir_ + "/empty";
  LmdbWriter wr;
  ASSERT_TRUE(LmdbWriter::open(empty, LmdbWriterOptions(), &wr).ok());
  ASSERT_TRUE(wr.close().ok());
  Runner e(config(empty, 2), 1, 0, 1, Phase::kTrain);
  s = e.setup();
  EXPECT_NE(s.message().find("empty"), std::string::npos) << s.message();
}

TEST_F(DataLayerTest, CorruptRecordIsReplacedOrStopsWithItsKey) {
  std::string path = dir_ + "/corrupt";
  LmdbWriter wr;
  ASSERT_TRUE(LmdbWriter::open(path, LmdbWriterOptions(), &wr).ok());
  DatumRecord d;
  d.channels = 1;
  d.height = d.width = 2;
  d.data = "\x01\x02\x03\x04";
  ASSERT_TRUE(wr.put("00000000", serialize_datum(d)).ok());
  d.data = "\x01\x02\x03";  // one byte short of 1 x 2 x 2
  ASSERT_TRUE(wr.put("00000001", serialize_datum(d)).ok());
  ASSERT_TRUE(wr.close().ok());
  LayerConfig c = config(path, 2);
  c.data.bad_record_fatal = true;
  Runner r(c, 1, 0, 1, Phase::kTest);
  ASSERT_TRUE(r.setup().ok());
  // The forward pass reports a DataLoss on the context (never aborts) and
  // the next pass, after the error is taken, runs again.
  r.run(0);
  Status error = r.ctx.take_error();
  EXPECT_EQ(error.code(), StatusCode::kDataLoss) << error.to_string();
  for (const char* part : {"(Data)", "corrupt' record '00000001'", "3 bytes"}) {
    EXPECT_NE(error.message().find(part), std::string::npos) << part << " in " << error.message();
  }
  EXPECT_FALSE(r.ctx.has_error());
  r.run(0);
  EXPECT_EQ(r.ctx.take_error().code(), StatusCode::kDataLoss);
  // By default the bad record is replaced by the next one in order (record 0).
  Runner dflt(config(path, 2), 1, 0, 1, Phase::kTest);
  ASSERT_TRUE(dflt.setup().ok());
  EXPECT_EQ(dflt.run(0), (std::vector<int>{0, 0}));
}

}  // namespace
}  // namespace banyan
