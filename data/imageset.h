// A folder of images plus a list file ("relative/path label" per line) -> an
// LMDB of Datum records keyed "%08d_<path>": the logic behind
// bin/convert_imageset.  JPEG sources are decoded with TurboJPEG; other
// formats go through a loader the caller supplies (the tool passes OpenCV's
// imread, which this library does not link).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "data/jpeg.h"
#include "engine/core/status.h"

namespace banyan {

struct ImagesetOptions {
  bool gray = false;     // store one gray channel instead of BGR
  bool shuffle = false;  // seeded shuffle of the list before conversion
  uint64_t seed = 0;
  int resize_height = 0;  // both 0: keep the size; both > 0: resize (bilinear)
  int resize_width = 0;
  bool encoded = false;     // store JPEG instead of raw pixels
  int quality = 90;         // JPEG quality when encoding
  bool check_size = false;  // skip images whose size differs from the first one
  bool overwrite = false;   // replace an existing output LMDB
};

struct ImagesetStats {
  int64_t lines = 0;      // non-blank lines of the list
  int64_t converted = 0;  // records written
  int64_t skipped = 0;    // bad lines and unreadable or mis-sized images
};

// Loads a non-JPEG image file as BGR (3 channels) or, when `gray`, 1 channel.
using ImageLoader = std::function<Status(const std::string& path, bool gray, HwcImage* out)>;

// Converts the images listed in `list_file` (paths relative to `root`) into
// the LMDB `out_path`.  Each bad line or unreadable image is logged with its
// line number and skipped.  With `encoded`, a JPEG source that needs no
// resizing or colour change is stored byte for byte; others are encoded at
// `quality`.  Errors: InvalidArgument for bad options, an existing output
// without `overwrite`, or when no image could be converted; NotFound for a
// missing list file; IoError from LMDB.  `stats` may be null.
Status convert_imageset(const std::string& root, const std::string& list_file,
                        const std::string& out_path, const ImagesetOptions& options,
                        const ImageLoader& load_other, ImagesetStats* stats);

}  // namespace banyan
