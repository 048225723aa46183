// Tile layer (Caffe's): repeats its bottom `tiles` times along one axis,
// e.g. (N, C, H, W) with axis 1 -> (N, tiles * C, H, W), whole blocks of
// C x H x W repeated; the backward pass sums the copies' gradients.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.tile.{axis, tiles} (negative axis counts from the end;
// tiles > 0).  One bottom, one top.
class TileLayer : public Layer {
 public:
  explicit TileLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif

 protected:
  void forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;
#ifdef BANYAN_WITH_CUDA
  void forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                    const std::vector<Blob*>& bottom, WorkerContext& ctx) override;
#endif

 private:
  int64_t outer_ = 0;  // count(0, axis)
  int64_t inner_ = 0;  // count(axis): the block that is repeated
  int64_t tiles_ = 0;
};

}  // namespace banyan
