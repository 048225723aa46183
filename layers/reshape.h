// Reshape layer (Caffe's): the same values under a new shape.  As Flatten
// does, the data are copied (top and bottom never alias), so the layer
// runs like any other and memory planning needs no aliasing rules.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.reshape.{shape, axis, num_axes}.  One bottom, one top whose
// shape is the bottom's dims before `axis`, then `shape` (0: the bottom's
// dimension at the same position, -1: inferred from the count), then the
// bottom's dims after axis + num_axes.  axis counts from the end when
// negative (-1: after the last axis); num_axes -1 means to the end.  The
// count must not change.
class ReshapeLayer : public Layer {
 public:
  explicit ReshapeLayer(LayerConfig config) : Layer(std::move(config)) {}

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
