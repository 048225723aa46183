// PNG decode with libpng's simplified API, so tools that read image files
// (banyan classify) need no OpenCV image codecs (DESIGN §2).  Pixels come out
// interleaved H x W x C uint8 like the JPEG decoder's: BGR or gray.
#pragma once

#include <string_view>

#include "data/jpeg.h"
#include "engine/core/status.h"

namespace banyan {

// True when `bytes` starts with the PNG signature.
bool is_png(std::string_view bytes);

// Decodes a PNG held in memory to 3-channel BGR (`channels` 3) or gray (1);
// alpha is composited over black, 16-bit samples are reduced to 8.
// InvalidArgument for other channel counts; DataLoss with libpng's message
// for a buffer that is not a valid PNG.  Thread-safe (no shared state).
Status decode_png(std::string_view bytes, int channels, HwcImage* out);

}  // namespace banyan
