// Flatten layer: merges the axes [axis, end_axis] of its bottom into one,
// e.g. (N, C, H, W) -> (N, C*H*W) with the defaults.  The data are copied
// (top and bottom never alias), so the layer runs like any other.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.flatten.{axis, end_axis} (negative count from the end;
// defaults 1 and -1).  One bottom, one top of shape
// dims[0, axis) + (count(axis, end_axis + 1)) + dims[end_axis + 1, rank).
class FlattenLayer : public Layer {
 public:
  explicit FlattenLayer(LayerConfig config) : Layer(std::move(config)) {}

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
};

}  // namespace banyan
