// Silence layer (Caffe's): consumes any number of bottoms and produces no
// tops, so blobs nobody reads are not reported as net outputs.  Forward
// does nothing; backward writes zero gradients to the bottoms asked for.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// No config.  One or more bottoms of any shape, no tops.
class SilenceLayer : public Layer {
 public:
  explicit SilenceLayer(LayerConfig config) : Layer(std::move(config)) {}

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
