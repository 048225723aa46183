// Accuracy layer: the fraction of positions whose label is among the top-k
// scores, overall and (optional second top) per class.  Forward only.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.accuracy.{top_k, axis, ignore_label}.  Bottoms: scores (C
// classes along `axis`) and labels (one integer-valued float per position of
// scores outside the axis, count = outer * inner).  Tops: accuracy, shape ();
// optionally per-class accuracy, shape (C): correct / occurrences of that
// label (0 for a class absent from the batch).  Positions labelled
// ignore_label are skipped; with none left the accuracy is 0.
//
// A position counts as correct when fewer than top_k classes have a score
// strictly greater than the label's score (so ties favour the label).  A label
// outside [0, C) fails a CHECK naming the layer and the value on the CPU; on a
// GPU (which cannot stop without a host sync) it makes every output NaN.  The
// GPU writes its outputs on the device, with integer counts (deterministic).
// No gradient: CanPropagateDown is false for both bottoms and backward does
// nothing.
class AccuracyLayer : public Layer {
 public:
  explicit AccuracyLayer(LayerConfig config) : Layer(std::move(config)) {}
  DType top_dtype(int, const std::vector<Blob*>&, DType) const override { return DType::kFloat32; }

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif
  bool can_propagate_down(int /*bottom_index*/) const override { return false; }

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
  int64_t outer_ = 0, channels_ = 0, inner_ = 0;
  // (2C + 3) int64: occurrences, then correct, per class; the GPU adds the
  // valid, correct and invalid-label totals.
  Buffer class_counts_;
};

}  // namespace banyan
