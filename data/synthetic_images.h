// Synthetic image sets for benchmarks: LMDBs of JPEG Datum records whose
// content looks statistically like photographs (smooth low-frequency
// structure, soft blobs, fine texture and noise), so JPEG sizes and decode
// costs are realistic (256 x 256 at quality 90: roughly 20-60 KB).  Every
// image is a pure function of (seed, index).
#pragma once

#include <cstdint>
#include <string>

#include "data/jpeg.h"
#include "engine/core/status.h"

namespace banyan {

struct SyntheticImagesetOptions {
  int64_t count = 1000;
  int size = 256;               // square side when !variable_sizes
  bool variable_sizes = false;  // ImageNet-like: short side 200-500, aspect 3:4..4:3
  int classes = 1000;           // labels are index-seeded draws in [0, classes)
  int quality = 90;             // JPEG quality
  uint64_t seed = 1;
  bool overwrite = false;  // replace an existing LMDB at the path
};

// The size of image `index`.
void synthetic_image_size(const SyntheticImagesetOptions& options, int64_t index, int* height,
                          int* width);

// Draws image `index` (BGR, height x width) into `out`.
void synthetic_image(uint64_t seed, int64_t index, int height, int width, HwcImage* out);

// Writes options.count records, keys "%08d", to a new LMDB at `path`.
// `encoded_bytes` (optional) receives the total JPEG bytes.  Errors name the
// path or the offending option.
Status write_synthetic_imageset(const std::string& path, const SyntheticImagesetOptions& options,
                                int64_t* encoded_bytes);

}  // namespace banyan
