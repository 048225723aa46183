// Synthetic photographs: a sum of a few random low-frequency cosine waves per
// channel (gradients, shading), soft elliptic blobs (objects), a band-limited
// texture and per-pixel noise, clipped to uint8.
#include "data/synthetic_images.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "data/datum.h"
#include "data/lmdb.h"
#include "engine/core/random.h"

namespace banyan {
namespace {

constexpr float kTwoPi = 6.28318530717958647692f;

// Uniform in [lo, hi) for draw `i` of image `index`.
float draw(uint64_t key, int64_t index, uint64_t i, float lo, float hi) {
  return lo + (hi - lo) * uniform_at(key, static_cast<uint64_t>(index), i);
}

struct Wave {
  float fx, fy, phase, amp;
};

struct Blob {
  float cx, cy, rx, ry, color[3];
};

}  // namespace

void synthetic_image_size(const SyntheticImagesetOptions& o, int64_t index, int* height,
                          int* width) {
  if (!o.variable_sizes) {
    *height = *width = o.size;
    return;
  }
  const uint64_t key = key_for(o.seed, "synthetic_size");
  const float short_side = draw(key, index, 0, 200.0f, 500.0f);
  const float aspect = draw(key, index, 1, 0.75f, 4.0f / 3.0f);  // width / height
  if (aspect >= 1.0f) {
    *height = static_cast<int>(short_side);
    *width = static_cast<int>(short_side * aspect);
  } else {
    *width = static_cast<int>(short_side);
    *height = static_cast<int>(short_side / aspect);
  }
}

void synthetic_image(uint64_t seed, int64_t index, int height, int width, HwcImage* out) {
  const uint64_t key = key_for(seed, "synthetic_image");
  uint64_t d = 0;  // draw counter
  Wave waves[3][4];
  for (auto& per_channel : waves) {
    for (Wave& w : per_channel) {
      w = {draw(key, index, d++, 0.2f, 3.0f), draw(key, index, d++, 0.2f, 3.0f),
           draw(key, index, d++, 0.0f, kTwoPi), draw(key, index, d++, 10.0f, 35.0f)};
    }
  }
  const float base[3] = {draw(key, index, d++, 60, 190), draw(key, index, d++, 60, 190),
                         draw(key, index, d++, 60, 190)};
  std::vector<Blob> blobs(4 + uniform_int_at(key, index, d++, 6));
  for (Blob& b : blobs) {
    b = {draw(key, index, d++, 0, 1),
         draw(key, index, d++, 0, 1),
         draw(key, index, d++, 0.05f, 0.3f),
         draw(key, index, d++, 0.05f, 0.3f),
         {draw(key, index, d++, -80, 80), draw(key, index, d++, -80, 80),
          draw(key, index, d++, -80, 80)}};
  }
  const float tex_f = draw(key, index, d++, 0.15f, 0.45f);  // cycles per pixel
  const float tex_amp = draw(key, index, d++, 8.0f, 20.0f);
  const uint64_t noise_key = key_for(seed, "synthetic_noise");
  out->height = height;
  out->width = width;
  out->channels = 3;
  out->pixels.resize(static_cast<size_t>(height) * width * 3);
  for (int y = 0; y < height; ++y) {
    const float v = static_cast<float>(y) / height;
    for (int x = 0; x < width; ++x) {
      const float u = static_cast<float>(x) / width;
      float blob_sum[3] = {0, 0, 0};
      for (const Blob& b : blobs) {
        const float dx = (u - b.cx) / b.rx, dy = (v - b.cy) / b.ry;
        const float w = std::exp(-2.0f * (dx * dx + dy * dy));
        for (int c = 0; c < 3; ++c) blob_sum[c] += w * b.color[c];
      }
      const float texture = tex_amp * std::sin(kTwoPi * tex_f * x + 3.0f * std::sin(0.07f * y)) *
                            std::cos(kTwoPi * tex_f * 0.8f * y + 2.0f * std::sin(0.05f * x));
      const size_t pixel = static_cast<size_t>(y) * width + x;
      for (int c = 0; c < 3; ++c) {
        float value = base[c] + blob_sum[c] + texture;
        for (const Wave& w : waves[c]) {
          value += w.amp * std::cos(kTwoPi * (w.fx * u + w.fy * v) + w.phase);
        }
        value +=
            32.0f * (uniform_at(noise_key, static_cast<uint64_t>(index), pixel * 3 + c) - 0.5f);
        out->pixels[pixel * 3 + c] = static_cast<uint8_t>(std::clamp(value, 0.0f, 255.0f));
      }
    }
  }
}

Status write_synthetic_imageset(const std::string& path, const SyntheticImagesetOptions& o,
                                int64_t* encoded_bytes) {
  if (o.count <= 0)
    return Status::invalid_argument("count must be > 0, got " + std::to_string(o.count));
  if (!o.variable_sizes && (o.size < 8 || o.size > 4096)) {
    return Status::invalid_argument("size must be in [8, 4096], got " + std::to_string(o.size));
  }
  if (o.classes <= 0) {
    return Status::invalid_argument("classes must be > 0, got " + std::to_string(o.classes));
  }
  if (o.quality < 1 || o.quality > 100) {
    return Status::invalid_argument("quality must be in [1, 100], got " +
                                    std::to_string(o.quality));
  }
  BANYAN_RETURN_IF_ERROR(prepare_new_lmdb(path, o.overwrite));
  LmdbWriter writer;
  BANYAN_RETURN_IF_ERROR(LmdbWriter::open(path, LmdbWriterOptions(), &writer));
  JpegEncoder encoder;
  HwcImage image;
  DatumRecord record;
  record.encoded = true;
  const uint64_t label_key = key_for(o.seed, "synthetic_label");
  int64_t total = 0;
  for (int64_t i = 0; i < o.count; ++i) {
    int h = 0, w = 0;
    synthetic_image_size(o, i, &h, &w);
    synthetic_image(o.seed, i, h, w, &image);
    BANYAN_RETURN_IF_ERROR(encoder.encode(image, o.quality, &record.data));
    record.label = static_cast<int>(uniform_int_at(label_key, 0, i, o.classes));
    total += static_cast<int64_t>(record.data.size());
    char key[24];
    std::snprintf(key, sizeof(key), "%08lld", static_cast<long long>(i));
    BANYAN_RETURN_IF_ERROR(writer.put(key, serialize_datum(record)));
  }
  BANYAN_RETURN_IF_ERROR(writer.close());
  if (encoded_bytes != nullptr) *encoded_bytes = total;
  return Status::success();
}

}  // namespace banyan
