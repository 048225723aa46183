// Embed layer (Caffe's): looks up a learned num_output-vector for each
// integer index (an inner product with a one-hot input, without forming it).
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// Config: config.embed.{num_output N, input_dim K, bias_term, weight_filler,
// bias_filler}.  One bottom of indices (any shape, M values, each an integer
// in [0, K)), one top of shape bottom + (N).  Parameters: W (K, N), then b
// (N) when bias_term.
//   y[m, :] = W[index_m, :] (+ b).
// Backward: dW[index_m, :] += dy[m, :], db += sum_m dy[m, :]; the indices
// get no gradient (can_propagate_down(0) is false).  An index that is not
// an integer in [0, K) is reported on the context (CPU) or makes its output
// row NaN and adds nothing to dW (GPU).  The top has the net's precision.
class EmbedLayer : public Layer {
 public:
  explicit EmbedLayer(LayerConfig config) : Layer(std::move(config)) {}
  DType top_dtype(int, const std::vector<Blob*>&, DType precision) const override {
    return precision;
  }

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif
  bool can_propagate_down(int /*bottom_index*/) const override { return false; }

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
  int64_t rows_ = 0;     // M
  int64_t inputs_ = 0;   // K
  int64_t outputs_ = 0;  // N
};

}  // namespace banyan
