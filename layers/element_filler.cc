// The per-element plans of the fillers (layers/element_filler.h), with
// fill_param's fan and sparsity computations.
#include "layers/element_filler.h"

#include <cmath>
#include <string>

namespace banyan {

Status plan_element_filler(const FillerConfig& f, const Shape& shape, ElementFiller* out) {
  using Kind = ElementFiller::Kind;
  *out = ElementFiller();
  if (f.type == "constant") {
    out->a = f.value;
  } else if (f.type == "uniform") {
    *out = ElementFiller{Kind::kUniform, f.min, f.max - f.min, -1.0f};
  } else if (f.type == "gaussian") {
    *out = ElementFiller{Kind::kNormal, f.mean, f.std, -1.0f};
    if (f.sparse >= 0) {
      if (shape.num_axes() < 1) {
        return Status::invalid_argument("the sparse gaussian filler needs a first dimension");
      }
      out->keep = static_cast<float>(f.sparse) / static_cast<float>(shape.dim(0));
    }
  } else if (f.type == "xavier" || f.type == "msra") {
    const int64_t n = shape.count();
    if (shape.num_axes() < 1 || n == 0) {
      return Status::invalid_argument("filler '" + f.type + "' needs a non-empty shape, got " +
                                      shape.to_string());
    }
    const double fan_in = static_cast<double>(n) / shape.dim(0);
    const double fan_out = shape.num_axes() > 1 ? static_cast<double>(n) / shape.dim(1) : fan_in;
    double fan = fan_in;
    if (f.variance_norm == FillerConfig::VarianceNorm::kFanOut) fan = fan_out;
    if (f.variance_norm == FillerConfig::VarianceNorm::kAverage) fan = (fan_in + fan_out) / 2;
    if (f.type == "xavier") {
      *out = ElementFiller{Kind::kSymmetric, static_cast<float>(std::sqrt(3.0 / fan)), 0.0f, -1.0f};
    } else {
      *out = ElementFiller{Kind::kNormal, 0.0f, static_cast<float>(std::sqrt(2.0 / fan)), -1.0f};
    }
  } else {
    return Status::invalid_argument("unknown filler type '" + f.type +
                                    "' (expected constant, uniform, gaussian, xavier, msra)");
  }
  return Status::success();
}

}  // namespace banyan
