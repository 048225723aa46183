// Mean image over an LMDB, accumulated in double precision.
#include "data/compute_mean.h"

#include "data/datum.h"
#include "data/image.h"
#include "data/lmdb.h"

namespace banyan {

Status compute_mean(const std::string& lmdb_path, MeanImage* mean, int64_t* count) {
  LmdbReader reader;
  BANYAN_RETURN_IF_ERROR(LmdbReader::open(lmdb_path, &reader));
  if (reader.size() == 0) {
    return Status::invalid_argument("LMDB '" + lmdb_path + "' is empty; no mean to compute");
  }
  DatumRecord record;
  DatumDecoder decoder;
  ChwImage image;
  std::vector<double> sum;
  int channels = 0, height = 0, width = 0;
  int64_t n = 0;
  BANYAN_RETURN_IF_ERROR(reader.for_each([&](std::string_view key, std::string_view value) {
    auto where = [&] { return "LMDB '" + lmdb_path + "' record '" + std::string(key) + "'"; };
    Status s = parse_datum(value, &record);
    if (s.ok()) s = decoder.decode(record, JpegColor::kNative, &image);
    if (!s.ok()) return Status::data_loss(where() + ": " + s.message());
    if (n == 0) {
      channels = image.channels;
      height = image.height;
      width = image.width;
      sum.assign(static_cast<size_t>(channels) * height * width, 0.0);
    } else if (image.channels != channels || image.height != height || image.width != width) {
      return Status::data_loss(where() + " is " + std::to_string(image.channels) + " x " +
                               std::to_string(image.height) + " x " + std::to_string(image.width) +
                               ", expected the first record's " + std::to_string(channels) + " x " +
                               std::to_string(height) + " x " + std::to_string(width));
    }
    if (image.is_float) {
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += image.f32[i];
    } else {
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += image.u8[i];
    }
    ++n;
    return Status::success();
  }));
  mean->channels = channels;
  mean->height = height;
  mean->width = width;
  mean->data.resize(sum.size());
  for (size_t i = 0; i < sum.size(); ++i) mean->data[i] = static_cast<float>(sum[i] / n);
  if (count != nullptr) *count = n;
  return Status::success();
}

std::vector<double> channel_means(const MeanImage& mean) {
  std::vector<double> out(mean.channels, 0.0);
  const size_t plane = static_cast<size_t>(mean.height) * mean.width;
  for (int c = 0; c < mean.channels; ++c) {
    double s = 0.0;
    for (size_t i = 0; i < plane; ++i) s += mean.data[c * plane + i];
    out[c] = plane > 0 ? s / plane : 0.0;
  }
  return out;
}

}  // namespace banyan
