// Fuzz target: an LMDB value through the pipeline's decode + augment step
// (pipeline/sample_decoder.h): Datum parse, raw/float/JPEG decode, the shape
// check and OpenCV resize to the dataset's size, then the random crop and
// mirror into a batch slot (or the final floats).  The first byte picks the
// dataset's format, the rest is the value.
#include <cstdint>
#include <string_view>
#include <vector>

#include "data/transform.h"
#include "pipeline/sample_decoder.h"

namespace {

struct Case {
  banyan::SampleFormat format;
  int crop;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using banyan::JpegColor;
  static const Case cases[] = {
      {{JpegColor::kNative, 3, 16, 16, false}, 12}, {{JpegColor::kBgr, 3, 8, 8, false}, 0},
      {{JpegColor::kGray, 1, 8, 8, false}, 5},      {{JpegColor::kNative, 1, 2, 2, true}, 0},
      {{JpegColor::kNative, 1, 8, 8, false}, 8},
  };
  if (size < 1) return 0;
  const Case& c = cases[data[0] % (sizeof(cases) / sizeof(cases[0]))];
  banyan::DataTransformer transformer;
  banyan::TransformConfig config;
  config.crop_size = c.crop;
  config.mirror = true;
  config.scale = 0.5f;
  if (!transformer.init(config, c.format.channels, c.format.height, c.format.width).ok()) {
    __builtin_trap();  // the cases are valid: a broken target, not a finding
  }
  banyan::SampleDecoder decoder(c.format);
  const std::string_view value(reinterpret_cast<const char*>(data + 1), size - 1);
  if (!decoder.decode(value).ok()) return 0;
  const banyan::CropMirror cm =
      transformer.draw(banyan::Phase::kTrain, 7, 0, size > 1 ? data[1] : 0);
  std::vector<float> floats(transformer.out_count());
  if (c.format.is_float) {
    transformer.apply(decoder.image(), cm, floats.data());
  } else {
    std::vector<uint8_t> pixels(transformer.out_count());
    decoder.write_cropped(transformer, cm, pixels.data());
    transformer.apply_cropped(pixels.data(), cm, floats.data());
  }
  return 0;
}
