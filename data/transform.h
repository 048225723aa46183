// The per-sample transform from a decoded C x H x W image to the network's
// float input: crop, mirror, mean subtraction and scale,
//   out = (pixel - mean) * scale.
// Randomness is counter-based (DESIGN §4): the crop offsets and mirror bit of
// a sample are a pure function of (seed, epoch, global sample index), so any
// split of a batch across worker groups or threads draws the same values.
#pragma once

#include <cstdint>
#include <vector>

#include "data/image.h"
#include "engine/core/config.h"
#include "engine/core/status.h"

namespace banyan {

// Where a sample is cropped and whether it is flipped left-right.
struct CropMirror {
  int h_off = 0;
  int w_off = 0;
  bool mirror = false;
};

// Immutable after Init; const methods are thread-safe.
class DataTransformer {
 public:
  // Validates `config` for inputs of `channels` x `height` x `width` and loads
  // the mean file.  InvalidArgument (or the mean file's error) naming the
  // offending value: crop_size larger than the image, a mean file of another
  // shape, mean_value with neither 1 nor `channels` entries, both mean_file
  // and mean_value, both force_color and force_gray, scale <= 0.
  Status init(const TransformConfig& config, int channels, int height, int width);

  int channels() const { return channels_; }
  int out_height() const { return crop_ > 0 ? crop_ : height_; }
  int out_width() const { return crop_ > 0 ? crop_ : width_; }
  size_t out_count() const { return static_cast<size_t>(channels_) * out_height() * out_width(); }

  // Crop offsets and mirror bit of global sample `index` in `epoch`.  TRAIN:
  // with v = Philox(KeyFor(seed, "transform"), epoch, index).v,
  //   h_off = v[0] mod (H - crop + 1), w_off = v[1] mod (W - crop + 1),
  //   mirror = config.mirror && (v[2] & 1).
  // TEST: the centre crop ((H - crop) / 2, (W - crop) / 2) and no mirror.
  // Without crop_size the offsets are 0.
  CropMirror draw(Phase phase, uint64_t seed, uint64_t epoch, uint64_t index) const;

  // Writes C x out_height x out_width floats to `out`:
  //   out[c][y][x] = (in[c][h_off + y][w_off + x'] - mean[c][h_off + y][w_off + x']) * scale
  // with x' = out_width - 1 - x when mirrored, else x.  The mean is the mean
  // file (cropped at the same offsets), else mean_value per channel, else 0.
  // `in` must have the Init shape (CHECKed).
  void apply(const ChwImage& in, const CropMirror& cm, float* out) const;

  // The same values from pixels already cropped and mirrored (the input
  // pipeline's uint8 batch): `cropped` is C x out_height x out_width with
  //   cropped[c][y][x] = in[c][h_off + y][w_off + x'],
  // and the result equals apply(in, cm, out) bit for bit.
  void apply_cropped(const uint8_t* cropped, const CropMirror& cm, float* out) const;

  // Copies `in` cropped at `cm` (and mirrored) into `out`, C x out_height x
  // out_width uint8, the layout apply_cropped reads.  `in` is uint8 of the
  // Init shape (CHECKed).
  void crop_u8(const ChwImage& in, const CropMirror& cm, uint8_t* out) const;

  // What apply subtracts and multiplies by, for the GPU conversion.
  float scale() const { return scale_; }
  const std::vector<float>& mean_image() const { return mean_image_; }      // C x H x W or empty
  const std::vector<float>& mean_channel() const { return mean_channel_; }  // C or empty
  int height() const { return height_; }
  int width() const { return width_; }

 private:
  template <typename T>
  void apply_typed(const T* in, const CropMirror& cm, float* out) const;

  int channels_ = 0, height_ = 0, width_ = 0;
  int crop_ = 0;
  bool mirror_ = false;
  float scale_ = 1.0f;
  std::vector<float> mean_image_;    // C x H x W, or empty
  std::vector<float> mean_channel_;  // C values, or empty
};

}  // namespace banyan
