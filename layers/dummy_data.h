// DummyData layer (Caffe's): tops of configured shapes filled by fillers, for
// tests and timing without a dataset.  As in Caffe, a constant top is written
// once and a random one is refilled every forward pass; the new values are
// keyed by (seed, layer, top, phase, sample_base), so runs are reproducible
// and every worker group draws its own.  CUDA workers fill on the device with
// one kernel per random top that evaluates the CPU filler's formula per
// element (layers/element_filler.h): nothing is generated on the host, copied
// or waited for, and constant tops cost nothing after their first pass.
#pragma once

#include <cstdint>
#include <vector>

#include "layers/element_filler.h"
#include "layers/layer.h"

namespace banyan {

class DummyDataLayer : public Layer {
 public:
  explicit DummyDataLayer(const LayerConfig& config) : Layer(config) {}
  // The first top in the net's precision; further tops (labels) float32.
  DType top_dtype(int i, const std::vector<Blob*>&, DType precision) const override {
    return i == 0 ? precision : DType::kFloat32;
  }

  // No bottoms, at least one top; dummy_data.shapes and .fillers hold one
  // entry or one per top (the loader expands them); every dimension > 0.
  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
  bool can_propagate_down(int /*bottom_index*/) const override { return false; }
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif

  // The filler key of top `i` in the pass `ctx` is computing.
  uint64_t fill_key(int i, const WorkerContext& ctx) const;
  // Top i's filler and its per-element plan (after setup).
  const FillerConfig& filler(int i) const { return fillers_[i]; }
  const ElementFiller& plan(int i) const { return plans_[i]; }

 protected:
  void forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_cpu(const std::vector<Blob*>& /*top*/, const std::vector<bool>& /*propagate_down*/,
                    const std::vector<Blob*>& /*bottom*/, WorkerContext& /*ctx*/) override {}
#ifdef BANYAN_WITH_CUDA
  void forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_gpu(const std::vector<Blob*>& /*top*/, const std::vector<bool>& /*propagate_down*/,
                    const std::vector<Blob*>& /*bottom*/, WorkerContext& /*ctx*/) override {}
#endif

 private:
  // Whether top `i` (storage `data`) must be written in this pass: random
  // tops always; constant ones when their storage is new to the layer, or
  // every pass while bfloat16 tops make the layer write into float32
  // scratch that other layers share.
  bool needs_fill(int i, const float* data);

  std::vector<FillerConfig> fillers_;  // per top
  std::vector<ElementFiller> plans_;   // per top
  std::vector<const float*> filled_;   // per top: storage of the last constant fill
};

}  // namespace banyan
