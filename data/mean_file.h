// Mean images in Caffe's .binaryproto format (a BlobProto), as written by
// compute_mean here or by Caffe's compute_image_mean.
#pragma once

#include <string>
#include <vector>

#include "engine/core/status.h"

namespace banyan {

// A C x H x W float image (BGR channel order for colour data).
struct MeanImage {
  int channels = 0;
  int height = 0;
  int width = 0;
  std::vector<float> data;  // channels * height * width
};

// Reads a BlobProto whose shape is (1, C, H, W) or (C, H, W), or which uses
// the legacy num/channels/height/width fields with num = 1.  Values may be
// float or double.  NotFound for a missing file; DataLoss naming the file for
// anything else that does not fit.
Status read_mean_file(const std::string& path, MeanImage* out);

// Writes `mean` as a BlobProto of shape (1, C, H, W); the legacy 4-D fields
// are filled too, so older readers accept it.
Status write_mean_file(const std::string& path, const MeanImage& mean);

}  // namespace banyan
