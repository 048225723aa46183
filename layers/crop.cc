// CPU Crop: the top is copied row by row (the last axis is contiguous in
// both blobs); backward zeroes bottom 0's gradient and copies the rows back.
#include "layers/crop.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "engine/core/parallel.h"
#include "layers/registry.h"

namespace banyan {
namespace {

// Calls copy(top_row_start, bottom_row_start) for each row (the last axis)
// of the top in [begin, end) rows.
template <typename Copy>
void for_rows(const CropGeometry& g, int64_t begin, int64_t end, Copy&& copy) {
  const int last = g.rank - 1;
  const int64_t width = g.top_dims[last];
  for (int64_t row = begin; row < end; ++row) {
    int64_t rest = row, b = g.base;
    for (int d = last - 1; d >= 0; --d) {
      const int64_t i = rest % g.top_dims[d];
      rest /= g.top_dims[d];
      b += i * g.bottom_strides[d];
    }
    copy(row * width, b);
  }
}

}  // namespace

Status CropLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 2, 2, 1, 1));
  const Shape& in = bottom[0]->shape();
  const Shape& ref = bottom[1]->shape();
  if (in.num_axes() != ref.num_axes()) {
    return error("bottom 0 '" + bottom[0]->name() + "' " + in.to_string() + " and bottom 1 '" +
                 bottom[1]->name() + "' " + ref.to_string() + " differ in rank");
  }
  if (in.num_axes() == 0 || in.num_axes() > CropGeometry::kMaxAxes) {
    return error("bottom shape " + in.to_string() + " has " + std::to_string(in.num_axes()) +
                 " axes; crops take 1 to " + std::to_string(CropGeometry::kMaxAxes));
  }
  const int axis = config_.crop.axis;
  if (!in.valid_axis(axis)) {
    return error("axis " + std::to_string(axis) + " is out of range for bottom shape " +
                 in.to_string());
  }
  const int start = in.canonical_axis(axis);
  const auto& offset = config_.crop.offset;
  const int cropped = in.num_axes() - start;
  if (offset.size() > 1 && static_cast<int>(offset.size()) != cropped) {
    return error(std::to_string(offset.size()) + " offsets for " + std::to_string(cropped) +
                 " cropped axes (" + std::to_string(start) + ".." +
                 std::to_string(in.num_axes() - 1) + "); give one, or one per axis");
  }
  CropGeometry g;
  g.rank = in.num_axes();
  Shape out = in;
  int64_t stride = 1;
  for (int d = g.rank - 1; d >= 0; --d) {
    g.bottom_strides[d] = stride;
    stride *= in.dim(d);
    if (d < start) continue;
    const int64_t off = offset.empty() ? 0 : offset.size() == 1 ? offset[0] : offset[d - start];
    if (off < 0 || off + ref.dim(d) > in.dim(d)) {
      return error("axis " + std::to_string(d) + ": offset " + std::to_string(off) + " plus size " +
                   std::to_string(ref.dim(d)) + " (bottom 1 '" + bottom[1]->name() + "' " +
                   ref.to_string() + ") passes dimension " + std::to_string(in.dim(d)) +
                   " of bottom 0 " + in.to_string());
    }
    g.offsets[d] = off;
    out.set_dim(d, ref.dim(d));
  }
  g.base = 0;
  for (int d = 0; d < g.rank; ++d) {
    g.top_dims[d] = out.dim(d);
    g.base += g.offsets[d] * g.bottom_strides[d];
  }
  g.top_count = out.count();
  geo_ = g;
  top[0]->set_shape(out);
  return Status::success();
}

void CropLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                            WorkerContext& /*ctx*/) {
  const int64_t width = geo_.top_dims[geo_.rank - 1];
  if (geo_.top_count == 0) return;
  const float* x = bottom[0]->data();
  float* y = top[0]->data();
  parallel_for(geo_.top_count / width, width, 1, [&](int64_t begin, int64_t end) {
    for_rows(geo_, begin, end, [&](int64_t t, int64_t b) {
      std::memcpy(y + t, x + b, static_cast<size_t>(width) * sizeof(float));
    });
  });
}

void CropLayer::backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                             const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  float* dx = bottom[0]->diff();
  std::fill(dx, dx + bottom[0]->count(), 0.0f);
  const int64_t width = geo_.top_dims[geo_.rank - 1];
  if (geo_.top_count == 0) return;
  const float* dy = top[0]->diff();
  // Rows of the top map to disjoint rows of the bottom: no two threads write one element.
  parallel_for(geo_.top_count / width, width, 1, [&](int64_t begin, int64_t end) {
    for_rows(geo_, begin, end, [&](int64_t t, int64_t b) {
      std::memcpy(dx + b, dy + t, static_cast<size_t>(width) * sizeof(float));
    });
  });
}

std::unique_ptr<Layer> new_crop_layer(const LayerConfig& config) {
  return std::make_unique<CropLayer>(config);
}

}  // namespace banyan
