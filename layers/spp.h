// SPP layer (Caffe's "SPP", spatial pyramid pooling): pools the bottom at
// several grid resolutions and concatenates the flattened results, giving a
// fixed-length output whatever the input's height and width.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "layers/layer.h"

namespace banyan {

// Config: config.spp.{pyramid_height, pool (MAX or AVE)}.  One bottom x
// (N, C, H, W) (4-D only), one top.  Level l in 0 .. pyramid_height-1 pools
// x into bins = 2^l bins per axis with Caffe's Pooling (layers/pooling.h):
//   kernel_h = ceil(H / bins), pad_h = (kernel_h * bins - H + 1) / 2,
//   stride_h = kernel_h (same for w)
// which gives bins x bins outputs; pad must stay below the kernel (Caffe
// refuses the level otherwise: bins much larger than H or W).
// pyramid_height 1: the top is that pooling's output, (N, C, 1, 1), as in
// Caffe.  Otherwise the top is (N, C * sum_l bins_l^2): sample n's row holds
// level 0's (C, 1, 1) output flattened, then level 1's (C, 2, 2), and so on.
// Backward (when propagate_down[0]): dx is overwritten with the sum of every
// level's pooling gradient.  No parameters.
//
// The levels are Pooling layers the SPP layer owns (so both devices run the
// Pooling's own code) with their outputs in buffers allocated at setup.
// Workspace: the bottom's size (one level's gradient before it is added),
// after what the poolings use.
class SppLayer : public Layer {
 public:
  explicit SppLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
  size_t workspace_floats() const override;
#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
  Status prepare_device(WorkerContext& ctx) override;
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
  struct Level {
    std::unique_ptr<Layer> pool;
    std::unique_ptr<Blob> out;  // (N, C, bins, bins); null when the top is the output
    int64_t offset = 0;         // of its columns in the top's row
  };
  // The Pooling config of level `l` for an (height, width) bottom; an error
  // when Caffe's formula gives a pad not below the kernel.
  Status level_config(int l, int64_t height, int64_t width, LayerConfig* out) const;
  // Forward and backward on either device (the Poolings dispatch themselves).
  void run_forward(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx);
  void run_backward(const std::vector<Blob*>& top, const std::vector<Blob*>& bottom,
                    WorkerContext& ctx);
  // Moves level `v`'s (N, slab) block into columns [offset, offset + slab) of
  // the top (N, row) (to_top), or the top's gradient there into v's gradient.
  void copy_columns(const Level& v, bool to_top, float* top_values, WorkerContext& ctx) const;
  // dx (count) += part (count) on the layer's device.
  void accumulate(const float* part, float* dx, WorkerContext& ctx) const;
#ifdef BANYAN_WITH_CUDA
  void copy_columns_gpu(int64_t slab, int64_t offset, bool to_top, float* level_values,
                        float* top_values, WorkerContext& ctx) const;
  void accumulate_gpu(const float* part, float* dx, WorkerContext& ctx) const;
#endif

  std::vector<Level> levels_;
  int64_t num_ = 0;
  int64_t row_ = 0;           // floats per sample in the top
  int64_t bottom_count_ = 0;  // N * C * H * W
  size_t pool_workspace_ = 0;
  Blob partial_;  // a view of the bottom with the workspace as its gradient
};

}  // namespace banyan
