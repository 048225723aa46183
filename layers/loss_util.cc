// Caffe's loss normalizer (LossLayer::GetNormalizer), shared by the losses.
#include "layers/loss_util.h"

#include <algorithm>

namespace banyan {

double loss_normalizer(LossConfig::Normalization mode, int64_t outer, int64_t inner,
                       int64_t valid) {
  double n = 1.0;
  switch (mode) {
    case LossConfig::Normalization::kFull:
      n = static_cast<double>(outer * inner);
      break;
    case LossConfig::Normalization::kValid:
      n = static_cast<double>(valid < 0 ? outer * inner : valid);
      break;
    case LossConfig::Normalization::kBatchSize:
      n = static_cast<double>(outer);
      break;
    case LossConfig::Normalization::kNone:
      n = 1.0;
      break;
  }
  return std::max(1.0, n);
}

}  // namespace banyan
