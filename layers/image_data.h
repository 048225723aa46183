// ImageData layer (Caffe's): images listed in a text file of
// "relative/path label" lines, read from root_folder + path, decoded (JPEG,
// PNG), resized to new_height x new_width when given, then transformed like
// the Data layer's records (crop, mirror, mean, scale).  It is the Data layer
// with the input pipeline reading an image list instead of an LMDB, so batch
// order, prefetching, bad-record handling and the GPU upload are the Data
// layer's (layers/data_layer.h).  Tops: data (N, C, H', W') and label (N).
//
// Differences from Caffe: shuffle (a seeded permutation per epoch) applies in
// TRAIN only, as for Data, so test passes read the list in order; images of
// another size than the first are resized to it when new_* are 0 (Caffe
// fails on a batch of mixed sizes); a missing or undecodable image is
// replaced by the next one of the epoch's order and logged once (Caffe
// aborts), unless bad_record_fatal.
#pragma once

#include <vector>

#include "layers/data_layer.h"

namespace banyan {

class ImageDataLayer : public DataLayer {
 public:
  explicit ImageDataLayer(const LayerConfig& config) : DataLayer(config) {}

  // Two tops (data, label), as in Caffe.  Opens the list and decodes the
  // first image for the shape; errors name the layer and the list file
  // (with file:line for a malformed line) or the image.
  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
};

}  // namespace banyan
