// Classifying image files with a deploy net: JPEG (TurboJPEG) or PNG
// (libpng) decode, resize (OpenCV imgproc), the Input layer's transform
// (centre crop, mean, scale) at TEST settings, a forward pass, top-k.
//
// Preprocessing, for an Input of shape (N, C, H, W) and the Input layer's
// transform_param T (mean_file replaced by the caller's mean file if any):
//   - decode to C channels (C = 3: BGR, C = 1: gray);
//   - with T.crop_size and a mean image larger than H x W, resize to the
//     mean image's size and take the centre crop (Caffe's test-time path for
//     images stored at, say, 256 x 256 and a 227 crop); otherwise resize
//     straight to H x W (bilinear) and ignore crop_size;
//   - out = (pixel - mean) * T.scale, the mean from the mean image (cropped
//     alike), else T.mean_value, else 0.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/transform.h"
#include "engine/core/config.h"
#include "engine/core/status.h"
#include "engine/net.h"

namespace banyan {

struct Prediction {
  int label = 0;
  float score = 0.0f;  // the output's value: a probability after Softmax
};

class Classifier {
 public:
  // `net` (built from `config` by build_inference_net, weights loaded) must
  // outlive the classifier.  `mean_file` ("" = the transform's own) replaces
  // the Input layer's mean.  InvalidArgument when the net has no 4-D Input,
  // its C is not 1 or 3, or the mean image does not fit.
  static Status create(const NetConfig& config, Net* net, const std::string& mean_file,
                       std::unique_ptr<Classifier>* out);

  // The top `top_k` classes of each image, best first, in the order of
  // `paths`.  Images are forwarded N at a time.  NotFound / DataLoss naming
  // the file for a missing, unsupported or corrupt image.
  Status classify(const std::vector<std::string>& paths, int top_k,
                  std::vector<std::vector<Prediction>>* out);

  // The output blob whose scores are ranked ("prob" when the net has it,
  // else its first output).
  const std::string& output_name() const { return output_; }

 private:
  Classifier() = default;
  // Decodes, resizes and transforms one image into `dst` (C x H x W floats).
  Status prepare(const std::string& path, float* dst) const;

  Net* net_ = nullptr;
  Blob* input_ = nullptr;
  std::string output_;
  int channels_ = 0, height_ = 0, width_ = 0;
  int resize_h_ = 0, resize_w_ = 0;
  DataTransformer transformer_;
};

// Reads `path` as a JPEG or PNG (told apart by the content) with `channels`
// 1 (gray) or 3 (BGR).  NotFound / DataLoss naming the file.
Status read_image_file(const std::string& path, int channels, HwcImage* out);

// Labels from a text file, one per line (line i names class i).
Status read_labels(const std::string& path, std::vector<std::string>* labels);

}  // namespace banyan
