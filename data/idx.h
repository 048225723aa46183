// IDX files (the MNIST / Fashion-MNIST format): big-endian magic and
// dimensions followed by uint8 data.  Files may be gzipped or plain; zlib
// reads both transparently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace banyan {

// `count` images of rows x cols uint8 pixels, image-major.
struct IdxImages {
  int count = 0;
  int rows = 0;
  int cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols
};

constexpr uint32_t kIdxImagesMagic = 0x00000803;  // uint8, 3 dimensions
constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // uint8, 1 dimension

// Reads an images file (magic 0x00000803).  NotFound for a missing file;
// DataLoss naming the file for a bad magic, implausible dimensions or
// truncated data.
Status read_idx_images(const std::string& path, IdxImages* out);
// Reads a labels file (magic 0x00000801); errors as for ReadIdxImages.
Status read_idx_labels(const std::string& path, std::vector<uint8_t>* out);

}  // namespace banyan
