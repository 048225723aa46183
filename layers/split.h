// Split layer: copies one bottom to several tops so that each reader of a blob
// has its own; backward sums the readers' gradients.  The Net inserts these
// wherever a blob feeds more than one layer.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// One bottom, one or more tops, each a copy of the bottom (same shape, its own
// storage).  Backward: bottom diff = sum of the top diffs.
class SplitLayer : public Layer {
 public:
  explicit SplitLayer(LayerConfig config) : Layer(std::move(config)) {}

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
