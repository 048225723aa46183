// The decode + augment work for one sample, as a decode thread runs it:
// Datum bytes, or an image file's bytes (JPEG, PNG) with its label -> checked
// C x H x W image (resized with OpenCV when its H x W differs from the
// dataset's) -> crop/mirror into the batch buffer (uint8), or the final
// floats for float_data datasets.
#pragma once

#include <string>
#include <string_view>

#include "data/datum.h"
#include "data/image.h"
#include "data/jpeg.h"
#include "data/transform.h"

namespace banyan {

// What every record must decode to: the first record's shape.
struct SampleFormat {
  JpegColor color = JpegColor::kNative;
  int channels = 0, height = 0, width = 0;
  // float_data dataset: samples go out as final floats.
  bool is_float = false;
};

// One per decode thread (owns a JPEG decoder and scratch images).  A JPEG of
// the dataset's size stays interleaved (H x W x C) and is cropped straight
// into the batch; other records go through a planar C x H x W image.
class SampleDecoder {
 public:
  explicit SampleDecoder(const SampleFormat& format) : format_(format) {}

  // Parses and decodes `value`, resizing to the format's H x W when needed.
  // DataLoss describing the defect (unparseable Datum, corrupt or non-JPEG
  // data, wrong channel count, missing label, float record in a uint8 set or
  // the reverse); the caller names the LMDB and key.
  Status decode(std::string_view value);
  // Decodes an image file (JPEG or PNG) in the format's colour, resizing to
  // its H x W when needed; `label` is the sample's label.  DataLoss
  // describing the defect (not a JPEG or PNG, corrupt data).
  Status decode_file(std::string_view bytes, int label);
  // The decoded image, planar.  Valid after decode for float formats and
  // for records that were not kept interleaved (see write_cropped).
  const ChwImage& image() const;
  // Writes the uint8 sample cropped and mirrored at `cm` (C x out_height x
  // out_width, the layout of DataTransformer::crop_u8) to `out`.
  void write_cropped(const DataTransformer& t, const CropMirror& cm, uint8_t* out) const;
  int label() const { return record_.label; }
  int resized() const { return resized_; }

 private:
  Status decode_jpeg();
  // hwc_ decoded: keeps it interleaved when it has the format's shape, else
  // converts it to planar and checks and resizes it.
  Status use_decoded_hwc();
  Status check_and_resize();

  SampleFormat format_;
  DatumDecoder decoder_;
  JpegDecoder jpeg_;
  DatumRecord record_;
  HwcImage hwc_;
  bool interleaved_ = false;  // the sample is hwc_ (else *current_)
  ChwImage decoded_, scaled_;
  const ChwImage* current_ = &decoded_;
  int resized_ = 0;  // samples resized so far
};

}  // namespace banyan
