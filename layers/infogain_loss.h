// InfogainLoss (Caffe's current form): softmax over an axis of raw scores,
// then the log loss weighted by a row of the K x K "information gain"
// matrix H picked by the label (SoftmaxWithLoss when H is the identity).
#pragma once

#include <memory>
#include <vector>

#include "layers/layer.h"

namespace banyan {

// Config: config.infogain_loss.{source, axis}, config.loss.{ignore_label,
// normalization}.  Bottoms: scores x (classes K along `axis`, viewed as
// (outer, K, inner)), labels (outer * inner class ids) and, optionally, H
// (K * K values, row-major); without a third bottom H is read at setup from
// `source`, a BlobProto (.binaryproto) of K * K values.  Tops: the loss
// (shape ()) and optionally the probabilities p = softmax(x) (x's shape).
//   loss = -sum over non-ignored positions of
//          sum_k H[label, k] log(max(p[k], 1e-20)), divided by the normalizer
// of config.loss.normalization (VALID, the default: the non-ignored
// positions; FULL outer * inner; BATCH_SIZE outer; NONE 1; at least 1).
// Backward: dx[k] = w (p[k] sum_j H[label, j] - H[label, k]) / normalizer, 0
// at ignored positions; labels and H receive no gradient.  A label that is
// neither ignored nor a class id is reported on the context (CPU) or makes
// the loss and that position's gradient NaN (GPU).  Default loss weight 1.
class InfogainLossLayer : public Layer {
 public:
  explicit InfogainLossLayer(LayerConfig config) : Layer(std::move(config)) {}
  DType top_dtype(int, const std::vector<Blob*>&, DType) const override { return DType::kFloat32; }

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
#endif
  float default_loss_weight(int top_index) const override { return top_index == 0 ? 1.0f : 0.0f; }
  bool can_propagate_down(int bottom_index) const override { return bottom_index == 0; }

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
  // Reads config.infogain_loss.source into h_file_ (on the layer's device).
  Status load_matrix();
  const float* matrix(const std::vector<Blob*>& bottom) const;
  bool is_ignored(float v) const;
  // The fixed normalizer (every mode but VALID with an ignore label).
  double fixed_normalizer() const;
#ifdef BANYAN_WITH_CUDA
  Status setup_gpu();
#endif

  int64_t outer_ = 0, classes_ = 0, inner_ = 0;
  Buffer h_file_;            // H from `source` (K * K), when there is no third bottom
  Buffer prob_;              // p of the last forward (outer, K, inner)
  std::vector<float> rows_;  // CPU: the row sums of H (K)
  float normalizer_ = 1.0f;  // CPU: of the last forward
  // CUDA: per-position terms and valid flags (outer * inner each), the row
  // sums of H (K) and the loss total's scratch.
  Buffer gpu_terms_, gpu_valid_, gpu_rows_, gpu_scratch_;
};

}  // namespace banyan
