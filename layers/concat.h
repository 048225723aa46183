// Concat layer: joins its bottoms along one axis (channels by default); the
// backward pass hands each bottom its slice of the top gradient.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.concat.axis (negative counts from the end).  One or more
// bottoms of the same rank whose dimensions agree everywhere except `axis`;
// one top whose `axis` dimension is the sum of theirs.
class ConcatLayer : public Layer {
 public:
  explicit ConcatLayer(LayerConfig config) : Layer(std::move(config)) {}

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
  int axis_ = 0;       // canonical
  int64_t outer_ = 0;  // count(0, axis)
  int64_t inner_ = 0;  // count(axis + 1)
};

}  // namespace banyan
