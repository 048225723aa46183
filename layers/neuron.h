// The elementwise ("neuron") layers: Sigmoid, TanH, AbsVal, BNLL, ELU, Exp,
// Log, Power, Threshold, Clip and Swish, one class selected by the layer type; the
// functions are in layers/neuron_math.h (shared by the CPU loops and the
// CUDA kernels).  One bottom, one top of the same shape.
#pragma once

#include <memory>

#include "layers/layer.h"
#include "layers/neuron_math.h"

namespace banyan {

// Config: config.neuron (ELU alpha; Exp/Log base, scale, shift; Power
// power, scale, shift; Threshold threshold; Clip min, max; Swish beta).  Sigmoid, TanH and
// Threshold may run in place (their backward reads only the output, or nothing); the others need
// their input in backward and refuse it at setup. Threshold's gradient is zero (its derivative
// almost everywhere).
class NeuronLayer : public Layer {
 public:
  NeuronLayer(LayerConfig config, NeuronOp op);

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif
  bool allows_in_place() const override;

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
  NeuronOp op_;
  NeuronArgs args_;
};

}  // namespace banyan
