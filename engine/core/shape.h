// Shape: the dimensions of a tensor, outermost first, e.g. (N, C, H, W).
// Negative axis arguments count from the end, as in Caffe and NumPy.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace banyan {

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

  int num_axes() const { return static_cast<int>(dims_.size()); }
  // Dimension at `axis`; negative counts from the end.  CHECKs the range.
  int64_t dim(int axis) const;
  // Maps a possibly negative axis to [0, num_axes); CHECKs the range.
  int canonical_axis(int axis) const;
  // True when axis lies in [-num_axes, num_axes).
  bool valid_axis(int axis) const { return axis >= -num_axes() && axis < num_axes(); }
  // Product of all dimensions (1 for a scalar shape).
  int64_t count() const { return count(0, num_axes()); }
  // Product of dimensions [start, end).
  int64_t count(int start, int end) const;
  int64_t count(int start) const { return count(start, num_axes()); }

  const std::vector<int64_t>& dims() const { return dims_; }
  void set_dim(int axis, int64_t value) { dims_[canonical_axis(axis)] = value; }
  void push_back(int64_t d) { dims_.push_back(d); }

  // "(2, 3, 4)"
  std::string to_string() const;

  bool operator==(const Shape& o) const { return dims_ == o.dims_; }
  bool operator!=(const Shape& o) const { return dims_ != o.dims_; }

 private:
  std::vector<int64_t> dims_;
};

// The number of elements of `dims` (1 for none) into *count; false when a
// dimension is negative or the product does not fit in int64_t.  Readers of
// shapes from files check with this before Shape::count.
bool checked_count(const std::vector<int64_t>& dims, int64_t* count);

}  // namespace banyan
