// Shape arithmetic and formatting.
#include "engine/core/shape.h"

#include <glog/logging.h>

namespace banyan {

int Shape::canonical_axis(int axis) const {
  CHECK(valid_axis(axis)) << "axis " << axis << " out of range for shape " << to_string();
  return axis < 0 ? axis + num_axes() : axis;
}

int64_t Shape::dim(int axis) const { return dims_[canonical_axis(axis)]; }

int64_t Shape::count(int start, int end) const {
  CHECK(start >= 0 && start <= end && end <= num_axes())
      << "bad count range [" << start << ", " << end << ") for shape " << to_string();
  int64_t c = 1;
  for (int i = start; i < end; ++i) c *= dims_[i];
  return c;
}

std::string Shape::to_string() const {
  std::string s = "(";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[i]);
  }
  return s + ")";
}

bool checked_count(const std::vector<int64_t>& dims, int64_t* count) {
  int64_t c = 1;
  for (int64_t d : dims) {
    if (d < 0 || __builtin_mul_overflow(c, d, &c)) return false;
  }
  *count = c;
  return true;
}

}  // namespace banyan
