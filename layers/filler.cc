// Counter-based parameter fillers.
#include "layers/filler.h"

#include <cmath>

#include "engine/core/random.h"

namespace banyan {

Status fill_param(const FillerConfig& f, uint64_t key, Blob* blob) {
  float* x = blob->data();
  const int64_t n = blob->count();
  if (f.type == "constant") {
    for (int64_t i = 0; i < n; ++i) x[i] = f.value;
  } else if (f.type == "uniform") {
    for (int64_t i = 0; i < n; ++i) x[i] = f.min + (f.max - f.min) * uniform_at(key, 0, i);
  } else if (f.type == "gaussian") {
    for (int64_t i = 0; i < n; ++i) x[i] = f.mean + f.std * normal_at(key, 0, i);
    if (f.sparse >= 0) {
      // Caffe's sparse fill: keep each value with probability sparse / outputs.
      const Shape& s = blob->shape();
      if (s.num_axes() < 1 || s.dim(0) < 1) {
        return Status::invalid_argument("sparse gaussian filler for '" + blob->name() +
                                        "' needs a first dimension (outputs), got " +
                                        s.to_string());
      }
      const float keep = static_cast<float>(f.sparse) / static_cast<float>(s.dim(0));
      for (int64_t i = 0; i < n; ++i) {
        if (uniform_at(key, 1, i) >= keep) x[i] = 0.0f;
      }
    }
  } else if (f.type == "xavier" || f.type == "msra") {
    const Shape& s = blob->shape();
    if (s.num_axes() < 1 || n == 0) {
      return Status::invalid_argument("filler '" + f.type + "' for '" + blob->name() +
                                      "' needs a non-empty shape, got " + s.to_string());
    }
    double fan_in = static_cast<double>(n) / s.dim(0);
    double fan_out = s.num_axes() > 1 ? static_cast<double>(n) / s.dim(1) : fan_in;
    double fan = fan_in;
    if (f.variance_norm == FillerConfig::VarianceNorm::kFanOut) fan = fan_out;
    if (f.variance_norm == FillerConfig::VarianceNorm::kAverage) fan = (fan_in + fan_out) / 2;
    if (f.type == "xavier") {
      float scale = static_cast<float>(std::sqrt(3.0 / fan));
      for (int64_t i = 0; i < n; ++i) x[i] = scale * (2.0f * uniform_at(key, 0, i) - 1.0f);
    } else {
      float std = static_cast<float>(std::sqrt(2.0 / fan));
      for (int64_t i = 0; i < n; ++i) x[i] = std * normal_at(key, 0, i);
    }
  } else {
    return Status::invalid_argument("parameter '" + blob->name() + "': unknown filler type '" +
                                    f.type +
                                    "' (expected constant, uniform, gaussian, xavier, msra)");
  }
  return Status::success();
}

}  // namespace banyan
