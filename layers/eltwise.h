// Eltwise layer: combines two or more bottoms of equal shape elementwise by
// weighted sum, product or maximum.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.eltwise.operation and, for SUM only, coeff (one per bottom;
// empty = all 1).  Bottoms: two or more of identical shape; one top of that
// shape.
//   SUM:  y = sum_k coeff_k x_k;          dx_k = coeff_k dy
//   PROD: y = prod_k x_k;                 dx_k = dy prod_{j != k} x_j
//   MAX:  y = max_k x_k (ties: lowest k); dx_k = dy where k won, else 0
// MAX keeps the winning bottom index per element (layer-owned, sized at
// setup) for backward.
class EltwiseLayer : public Layer {
 public:
  explicit EltwiseLayer(LayerConfig config) : Layer(std::move(config)) {}

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
  float coeff(size_t k) const;
  void backward_prod(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                     const std::vector<Blob*>& bottom) const;

  Buffer argmax_;  // (count) int32, MAX only: which bottom won each element
};

}  // namespace banyan
