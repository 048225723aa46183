// CPU Tile: block copies forward; backward sums the tiles' gradients in
// tile order (the GPU sums in the same order, so both agree bit for bit).
#include "layers/tile.h"

#include <cstring>
#include <string>

#include "engine/core/parallel.h"
#include "layers/registry.h"

namespace banyan {

Status TileLayer::setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) {
  BANYAN_RETURN_IF_ERROR(check_counts(bottom, top, 1, 1, 1, 1));
  const Shape& s = bottom[0]->shape();
  const int axis = config_.tile.axis;
  if (!s.valid_axis(axis)) {
    return error("axis " + std::to_string(axis) + " is out of range for bottom '" +
                 bottom[0]->name() + "' of shape " + s.to_string());
  }
  if (config_.tile.tiles <= 0) {
    return error("tiles must be > 0, got " + std::to_string(config_.tile.tiles));
  }
  const int a = s.canonical_axis(axis);
  tiles_ = config_.tile.tiles;
  outer_ = s.count(0, a);
  inner_ = s.count(a);
  Shape out = s;
  out.set_dim(a, s.dim(a) * tiles_);
  top[0]->set_shape(out);
  return Status::success();
}

void TileLayer::forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                            WorkerContext& /*ctx*/) {
  const float* x = bottom[0]->data();  // (outer, inner)
  float* y = top[0]->data();           // (outer, tiles, inner)
  for (int64_t o = 0; o < outer_; ++o) {
    for (int64_t t = 0; t < tiles_; ++t) {
      std::memcpy(y + (o * tiles_ + t) * inner_, x + o * inner_,
                  static_cast<size_t>(inner_) * sizeof(float));
    }
  }
}

void TileLayer::backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                             const std::vector<Blob*>& bottom, WorkerContext& /*ctx*/) {
  if (!propagate_down[0]) return;
  const float* dy = top[0]->diff();  // (outer, tiles, inner)
  float* dx = bottom[0]->diff();     // (outer, inner)
  const int64_t tiles = tiles_, inner = inner_;
  parallel_for(outer_ * inner_, tiles_, 16, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const int64_t o = k / inner, i = k - o * inner;
      const float* src = dy + o * tiles * inner + i;
      float sum = src[0];
      for (int64_t t = 1; t < tiles; ++t) sum += src[t * inner];
      dx[k] = sum;
    }
  });
}

std::unique_ptr<Layer> new_tile_layer(const LayerConfig& config) {
  return std::make_unique<TileLayer>(config);
}

}  // namespace banyan
