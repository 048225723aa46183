// DataTransformer: validation at Init, counter-based draws, the pixel loop.
#include "data/transform.h"

#include <glog/logging.h>

#include <cstring>
#include <string>

#include "data/mean_file.h"
#include "engine/core/random.h"

namespace banyan {

Status DataTransformer::init(const TransformConfig& config, int channels, int height, int width) {
  auto shape = [](int c, int h, int w) {
    return std::to_string(c) + " x " + std::to_string(h) + " x " + std::to_string(w);
  };
  CHECK(channels > 0 && height > 0 && width > 0) << shape(channels, height, width);
  if (config.crop_size < 0 || config.crop_size > height || config.crop_size > width) {
    return Status::invalid_argument("crop_size " + std::to_string(config.crop_size) +
                                    " does not fit the " + shape(channels, height, width) +
                                    " (C x H x W) images: expected 0 <= crop_size <= " +
                                    std::to_string(std::min(height, width)));
  }
  if (!(config.scale > 0.0f)) {
    return Status::invalid_argument("scale must be positive, got " + std::to_string(config.scale));
  }
  if (config.force_color && config.force_gray) {
    return Status::invalid_argument("force_color and force_gray are both set");
  }
  if (!config.mean_file.empty() && !config.mean_value.empty()) {
    return Status::invalid_argument("give mean_file or mean_value, not both");
  }
  channels_ = channels;
  height_ = height;
  width_ = width;
  crop_ = config.crop_size;
  mirror_ = config.mirror;
  scale_ = config.scale;
  mean_image_.clear();
  mean_channel_.clear();
  if (!config.mean_file.empty()) {
    MeanImage mean;
    BANYAN_RETURN_IF_ERROR(read_mean_file(config.mean_file, &mean));
    if (mean.channels != channels || mean.height != height || mean.width != width) {
      return Status::invalid_argument("mean file '" + config.mean_file + "' has shape " +
                                      shape(mean.channels, mean.height, mean.width) +
                                      ", expected the images' " + shape(channels, height, width));
    }
    mean_image_ = std::move(mean.data);
  } else if (config.mean_value.size() == 1) {
    mean_channel_.assign(channels, config.mean_value[0]);
  } else if (!config.mean_value.empty()) {
    if (static_cast<int>(config.mean_value.size()) != channels) {
      return Status::invalid_argument(std::to_string(config.mean_value.size()) +
                                      " mean_value entries for " + std::to_string(channels) +
                                      "-channel images: expected 1 or " + std::to_string(channels));
    }
    mean_channel_ = config.mean_value;
  }
  return Status::success();
}

CropMirror DataTransformer::draw(Phase phase, uint64_t seed, uint64_t epoch, uint64_t index) const {
  CropMirror cm;
  if (phase == Phase::kTest) {
    if (crop_ > 0) {
      cm.h_off = (height_ - crop_) / 2;
      cm.w_off = (width_ - crop_) / 2;
    }
    return cm;
  }
  PhiloxBits v = philox(key_for(seed, "transform"), epoch, index);
  if (crop_ > 0) {
    cm.h_off = static_cast<int>(v.v[0] % static_cast<uint32_t>(height_ - crop_ + 1));
    cm.w_off = static_cast<int>(v.v[1] % static_cast<uint32_t>(width_ - crop_ + 1));
  }
  cm.mirror = mirror_ && (v.v[2] & 1u) != 0;
  return cm;
}

void DataTransformer::apply(const ChwImage& in, const CropMirror& cm, float* out) const {
  CHECK(in.channels == channels_ && in.height == height_ && in.width == width_)
      << "transform set up for " << channels_ << "x" << height_ << "x" << width_ << ", got "
      << in.channels << "x" << in.height << "x" << in.width;
  CHECK(cm.h_off >= 0 && cm.h_off + out_height() <= height_ && cm.w_off >= 0 &&
        cm.w_off + out_width() <= width_)
      << "crop offset (" << cm.h_off << ", " << cm.w_off << ") outside the image";
  if (in.is_float) {
    apply_typed(in.f32.data(), cm, out);
  } else {
    apply_typed(in.u8.data(), cm, out);
  }
}

template <typename T>
void DataTransformer::apply_typed(const T* in, const CropMirror& cm, float* out) const {
  const int oh = out_height(), ow = out_width();
  for (int c = 0; c < channels_; ++c) {
    const float channel_mean = mean_channel_.empty() ? 0.0f : mean_channel_[c];
    for (int y = 0; y < oh; ++y) {
      const size_t src_row = (static_cast<size_t>(c) * height_ + cm.h_off + y) * width_ + cm.w_off;
      const T* src = in + src_row;
      const float* mean = mean_image_.empty() ? nullptr : mean_image_.data() + src_row;
      float* dst = out + (static_cast<size_t>(c) * oh + y) * ow;
      for (int x = 0; x < ow; ++x) {
        const int xs = cm.mirror ? ow - 1 - x : x;
        const float m = mean != nullptr ? mean[xs] : channel_mean;
        dst[x] = (static_cast<float>(src[xs]) - m) * scale_;
      }
    }
  }
}

void DataTransformer::apply_cropped(const uint8_t* cropped, const CropMirror& cm,
                                    float* out) const {
  const int oh = out_height(), ow = out_width();
  for (int c = 0; c < channels_; ++c) {
    const float channel_mean = mean_channel_.empty() ? 0.0f : mean_channel_[c];
    for (int y = 0; y < oh; ++y) {
      const size_t row = (static_cast<size_t>(c) * oh + y) * ow;
      const size_t src_row = (static_cast<size_t>(c) * height_ + cm.h_off + y) * width_ + cm.w_off;
      const float* mean = mean_image_.empty() ? nullptr : mean_image_.data() + src_row;
      const uint8_t* src = cropped + row;
      float* dst = out + row;
      for (int x = 0; x < ow; ++x) {
        const int xs = cm.mirror ? ow - 1 - x : x;
        const float m = mean != nullptr ? mean[xs] : channel_mean;
        dst[x] = (static_cast<float>(src[x]) - m) * scale_;
      }
    }
  }
}

void DataTransformer::crop_u8(const ChwImage& in, const CropMirror& cm, uint8_t* out) const {
  CHECK(!in.is_float && in.channels == channels_ && in.height == height_ && in.width == width_)
      << "crop_u8 set up for uint8 " << channels_ << "x" << height_ << "x" << width_;
  const int oh = out_height(), ow = out_width();
  CHECK(cm.h_off >= 0 && cm.h_off + oh <= height_ && cm.w_off >= 0 && cm.w_off + ow <= width_)
      << "crop offset (" << cm.h_off << ", " << cm.w_off << ") outside the image";
  for (int c = 0; c < channels_; ++c) {
    for (int y = 0; y < oh; ++y) {
      const uint8_t* src =
          in.u8.data() + (static_cast<size_t>(c) * height_ + cm.h_off + y) * width_ + cm.w_off;
      uint8_t* dst = out + (static_cast<size_t>(c) * oh + y) * ow;
      if (cm.mirror) {
        for (int x = 0; x < ow; ++x) dst[x] = src[ow - 1 - x];
      } else {
        std::memcpy(dst, src, ow);
      }
    }
  }
}

}  // namespace banyan
