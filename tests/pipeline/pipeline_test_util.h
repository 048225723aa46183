// Helpers of the pipeline tests: small LMDBs (raw, JPEG, corrupt) in a
// temporary directory and the synchronous reference computation of a batch
// with DataTransformer, written independently of pipeline/.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "data/datum.h"
#include "data/image.h"
#include "data/jpeg.h"
#include "data/lmdb.h"
#include "data/transform.h"
#include "engine/core/random.h"
#include "pipeline/pipeline.h"

namespace banyan::testing_pipeline {

// Pixel j of raw record i (never zero), so outputs identify their record.
inline uint8_t pixel_of(int i, int j) { return static_cast<uint8_t>((i * 29 + j * 7) % 250 + 1); }

inline std::string key_of(int i) {
  char key[16];
  std::snprintf(key, sizeof(key), "%08d", i);
  return key;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "banyan_pipeline_XXXXXX";
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes `records` (key_of(i) -> bytes) into a new LMDB `path`.
inline void write_lmdb(const std::string& path, const std::vector<std::string>& records) {
  LmdbWriter wr;
  ASSERT_TRUE(LmdbWriter::open(path, LmdbWriterOptions(), &wr).ok());
  for (size_t i = 0; i < records.size(); ++i) {
    ASSERT_TRUE(wr.put(key_of(static_cast<int>(i)), records[i]).ok());
  }
  ASSERT_TRUE(wr.close().ok());
}

inline std::string raw_datum(int i, int c, int h, int w) {
  DatumRecord d;
  d.channels = c;
  d.height = h;
  d.width = w;
  for (int j = 0; j < c * h * w; ++j) d.data.push_back(static_cast<char>(pixel_of(i, j)));
  d.label = i;
  return serialize_datum(d);
}

// A smooth colour (channels 3) or gray (1) image that differs per record.
inline HwcImage pattern_image(int i, int h, int w, int channels) {
  HwcImage img{h, w, channels, {}};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int k = 0; k < channels; ++k) {
        img.pixels.push_back(static_cast<uint8_t>(30 + 40 * k + 5 * x + 4 * y + 11 * i));
      }
    }
  }
  return img;
}

inline std::string jpeg_datum(int i, int h, int w, int channels = 3) {
  JpegEncoder enc;
  DatumRecord d;
  d.encoded = true;
  d.label = i;
  EXPECT_TRUE(enc.encode(pattern_image(i, h, w, channels), 95, &d.data).ok());
  return serialize_datum(d);
}

// The batch as the Data layer's CPU forward converts it, plus labels.
struct HostBatch {
  std::vector<float> data;
  std::vector<int> labels;
};

inline HostBatch convert(const Pipeline& p, Batch* b) {
  HostBatch out;
  const size_t count = p.sample_count();
  out.data.resize(count * b->size());
  for (int n = 0; n < b->size(); ++n) {
    if (p.format().is_float) {
      std::copy(b->floats() + n * count, b->floats() + (n + 1) * count,
                out.data.begin() + n * count);
    } else {
      const CropMirror cm{b->h_off()[n], b->w_off()[n], b->mirror()[n] != 0};
      p.transformer().apply_cropped(b->pixels() + n * count, cm, out.data.data() + n * count);
    }
    out.labels.push_back(static_cast<int>(b->labels()[n]));
  }
  return out;
}

inline HostBatch acquire_converted(Pipeline& p, const BatchRequest& r) {
  Batch* b = nullptr;
  Status s = p.acquire(r, &b);
  EXPECT_TRUE(s.ok()) << s.message();
  HostBatch out = convert(p, b);
  p.release(b);
  return out;
}

// The synchronous computation the pre-pipeline Data layer did, sample by
// sample: record perm_e[s mod N] (own Fisher-Yates), DatumDecoder, draw,
// apply.
class Reference {
 public:
  Reference(const std::string& source, const TransformConfig& tc) : tc_(tc) {
    EXPECT_TRUE(LmdbReader::open(source, &reader_).ok());
    std::string v;
    EXPECT_TRUE(reader_.get_at(0, &v).ok());
    ChwImage im = decode(v, nullptr);
    EXPECT_TRUE(t_.init(tc, im.channels, im.height, im.width).ok());
  }

  size_t record_for(bool shuffled, uint64_t seed, int64_t s) const {
    const int64_t n = static_cast<int64_t>(reader_.size());
    if (!shuffled) return static_cast<size_t>(s % n);
    std::vector<uint32_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0u);
    const uint64_t key = key_for(seed, "shuffle");
    for (int64_t i = n - 1; i > 0; --i) {
      std::swap(perm[i], perm[uniform_int_at(key, static_cast<uint64_t>(s / n), i, i + 1)]);
    }
    return perm[s % n];
  }

  HostBatch batch(Phase phase, bool shuffle, uint64_t seed, int64_t it, int groups, int group,
                  int b) const {
    HostBatch out;
    const int64_t n_rec = static_cast<int64_t>(reader_.size());
    out.data.resize(t_.out_count() * b);
    for (int n = 0; n < b; ++n) {
      const int64_t s = (it * groups + group) * b + n;
      std::string v;
      EXPECT_TRUE(reader_.get_at(record_for(phase == Phase::kTrain && shuffle, seed, s), &v).ok());
      int label = 0;
      ChwImage im = decode(v, &label);
      CropMirror cm = t_.draw(phase, seed, s / n_rec, s);
      t_.apply(im, cm, out.data.data() + n * t_.out_count());
      out.labels.push_back(label);
    }
    return out;
  }

 private:
  ChwImage decode(const std::string& v, int* label) const {
    DatumRecord r;
    EXPECT_TRUE(parse_datum(v, &r).ok());
    ChwImage im;
    DatumDecoder dec;
    const JpegColor color = tc_.force_gray ? JpegColor::kGray : JpegColor::kNative;
    EXPECT_TRUE(dec.decode(r, color, &im).ok());
    if (label != nullptr) *label = r.label;
    return im;
  }

  TransformConfig tc_;
  LmdbReader reader_;
  DataTransformer t_;
};

}  // namespace banyan::testing_pipeline
