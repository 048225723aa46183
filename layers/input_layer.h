// Input layer: tops of fixed shapes that the caller fills (deploy nets,
// timing with synthetic data).  One shape applies to every top when only one
// is given, as in Caffe.  Forward and Backward do nothing.
#pragma once

#include <vector>

#include "layers/layer.h"

namespace banyan {

class InputLayer : public Layer {
 public:
  explicit InputLayer(const LayerConfig& config) : Layer(config) {}
  // The first top in the net's precision; further tops (labels) float32.
  DType top_dtype(int i, const std::vector<Blob*>&, DType precision) const override {
    return i == 0 ? precision : DType::kFloat32;
  }

  // Needs no bottoms, at least one top, and input.shapes with one shape or
  // one per top, every dimension positive.
  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
  bool can_propagate_down(int /*bottom_index*/) const override { return false; }
#ifdef BANYAN_WITH_CUDA
  // Nothing to compute: the caller writes the tops on the device.
  bool supports_gpu() const override { return true; }
#endif

 protected:
  void forward_cpu(const std::vector<Blob*>& /*bottom*/, const std::vector<Blob*>& /*top*/,
                   WorkerContext& /*ctx*/) override {}
  void backward_cpu(const std::vector<Blob*>& /*top*/, const std::vector<bool>& /*propagate_down*/,
                    const std::vector<Blob*>& /*bottom*/, WorkerContext& /*ctx*/) override {}
  void forward_gpu(const std::vector<Blob*>& /*bottom*/, const std::vector<Blob*>& /*top*/,
                   WorkerContext& /*ctx*/) override {}
  void backward_gpu(const std::vector<Blob*>& /*top*/, const std::vector<bool>& /*propagate_down*/,
                    const std::vector<Blob*>& /*bottom*/, WorkerContext& /*ctx*/) override {}
};

}  // namespace banyan
