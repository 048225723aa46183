// Input conversion against a CPU reference built the way Caffe's
// DataTransformer works: crop (and mirror) a full image, subtract the mean
// at each output pixel's source location, scale.  Per-channel means, a mean
// image with per-sample crops and mirrors, no mean, and bf16 output.
#include "cuda/input_convert.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/cuda/cuda_test_util.h"

namespace banyan::cuda_testing {
namespace {

using cuda::Bf16;

constexpr int kN = 3, kC = 3, kH = 5, kW = 7;  // the crop
constexpr int kFullH = 8, kFullW = 9;          // the stored images
const int32_t kHOff[kN] = {0, 3, 1}, kWOff[kN] = {2, 0, 1};
const uint8_t kMirror[kN] = {0, 1, 1};

class InputConvertTest : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Full images with every byte value represented.
    full_.resize(static_cast<size_t>(kN) * kC * kFullH * kFullW);
    for (size_t i = 0; i < full_.size(); ++i) full_[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
    mean_image_ = random_floats(static_cast<size_t>(kC) * kFullH * kFullW, 41, 0.0f, 255.0f);
    mean_channel_ = {104.0f, 117.0f, 123.5f};
    // The batch the decode stage hands over: cropped and mirrored.
    batch_.resize(static_cast<size_t>(kN) * kC * kH * kW);
    for (int n = 0; n < kN; ++n)
      for (int c = 0; c < kC; ++c)
        for (int h = 0; h < kH; ++h)
          for (int w = 0; w < kW; ++w) batch_[index(n, c, h, w)] = full_[full_index(n, c, h, w)];
  }

  static size_t index(int n, int c, int h, int w) {
    return ((static_cast<size_t>(n) * kC + c) * kH + h) * kW + w;
  }
  // Where output (n, c, h, w) came from in the full image (and mean image).
  static int src_h(int n, int h) { return kHOff[n] + h; }
  static int src_w(int n, int w) { return kWOff[n] + (kMirror[n] ? kW - 1 - w : w); }
  static size_t full_index(int n, int c, int h, int w) {
    return ((static_cast<size_t>(n) * kC + c) * kFullH + src_h(n, h)) * kFullW + src_w(n, w);
  }

  // mode 0: no mean, 1: per channel, 2: mean image.
  std::vector<float> reference(int mode, float scale) const {
    std::vector<float> out(batch_.size());
    for (int n = 0; n < kN; ++n)
      for (int c = 0; c < kC; ++c)
        for (int h = 0; h < kH; ++h)
          for (int w = 0; w < kW; ++w) {
            float m = 0.0f;
            if (mode == 1) m = mean_channel_[c];
            if (mode == 2) {
              m = mean_image_[(static_cast<size_t>(c) * kFullH + src_h(n, h)) * kFullW +
                              src_w(n, w)];
            }
            out[index(n, c, h, w)] =
                (static_cast<float>(full_[full_index(n, c, h, w)]) - m) * scale;
          }
    return out;
  }

  cuda::InputConvertArgs args(float scale) const {
    cuda::InputConvertArgs a;
    a.N = kN;
    a.C = kC;
    a.H = kH;
    a.W = kW;
    a.scale = scale;
    return a;
  }

  std::vector<uint8_t> full_, batch_;
  std::vector<float> mean_image_, mean_channel_;
};

TEST_F(InputConvertTest, NoMeanAndPerChannelMean) {
  cuda::DeviceBuffer in = upload(batch_), channel = upload(mean_channel_);
  for (int mode = 0; mode <= 1; ++mode) {
    cuda::InputConvertArgs a = args(0.00390625f);
    if (mode == 1) a.mean_channel = channel.as<float>();
    cuda::DeviceBuffer out = poisoned(batch_.size() * sizeof(float));
    cuda::convert_input(a, in.as<uint8_t>(), out.as<float>(), stream());
    const std::vector<float> got = download<float>(out, batch_.size()),
                             want = reference(mode, a.scale);
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << "mode " << mode << " i " << i;
  }
}

TEST_F(InputConvertTest, MeanImageFollowsCropAndMirror) {
  cuda::DeviceBuffer in = upload(batch_), mean = upload(mean_image_);
  cuda::DeviceBuffer h_off = upload(std::vector<int32_t>(kHOff, kHOff + kN));
  cuda::DeviceBuffer w_off = upload(std::vector<int32_t>(kWOff, kWOff + kN));
  cuda::DeviceBuffer mirror = upload(std::vector<uint8_t>(kMirror, kMirror + kN));
  cuda::InputConvertArgs a = args(0.017f);
  a.mean_image = mean.as<float>();
  a.mean_height = kFullH;
  a.mean_width = kFullW;
  a.h_off = h_off.as<int32_t>();
  a.w_off = w_off.as<int32_t>();
  a.mirror = mirror.as<uint8_t>();
  const std::vector<float> want = reference(2, a.scale);

  cuda::DeviceBuffer out = poisoned(batch_.size() * sizeof(float));
  cuda::convert_input(a, in.as<uint8_t>(), out.as<float>(), stream());
  const std::vector<float> got = download<float>(out, batch_.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << "element " << i;

  cuda::DeviceBuffer out16 = poisoned(batch_.size() * sizeof(Bf16));
  cuda::convert_input(a, in.as<uint8_t>(), out16.as<Bf16>(), stream());
  const std::vector<Bf16> got16 = download<Bf16>(out16, batch_.size());
  for (size_t i = 0; i < got16.size(); ++i) {
    ASSERT_EQ(got16[i], bf16_round(want[i])) << "element " << i;
  }
}

}  // namespace
}  // namespace banyan::cuda_testing
