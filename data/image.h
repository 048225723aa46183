// Decoded samples in planar C x H x W layout (the network's layout and the
// layout of raw Datum pixels), and the decoder that turns any Datum record
// (raw bytes, float_data or a JPEG) into one.
#pragma once

#include <cstdint>
#include <vector>

#include "data/datum.h"
#include "data/jpeg.h"
#include "engine/core/status.h"

namespace banyan {

// A C x H x W image holding either uint8 pixels or floats.
struct ChwImage {
  int channels = 0;
  int height = 0;
  int width = 0;
  bool is_float = false;
  std::vector<uint8_t> u8;  // channels * height * width when !is_float
  std::vector<float> f32;   // channels * height * width when is_float
};

// Interleaved H x W x C -> planar C x H x W (uint8).
void hwc_to_chw(const HwcImage& in, ChwImage* out);

// Decodes Datum records into ChwImages, reusing its buffers between calls.
// One per thread (it owns a JPEG decoder).
class DatumDecoder {
 public:
  // Raw records are copied (uint8 `data`, or `float_data` when data is
  // empty); JPEG-encoded records are decoded with `color`.  For raw records
  // `color` must agree with the channel count (kNative always does).
  // DataLoss when the sizes do not match C x H x W or the JPEG is corrupt;
  // Unimplemented for encoded records that are not JPEG.
  Status decode(const DatumRecord& record, JpegColor color, ChwImage* out);

 private:
  Status decode_raw(const DatumRecord& record, JpegColor color, ChwImage* out);

  JpegDecoder jpeg_;
  HwcImage hwc_;
};

}  // namespace banyan
