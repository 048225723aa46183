// Crop layer (Caffe's): cuts bottom 0 to the dimensions of bottom 1 from
// `axis` on, starting at per-axis offsets.  Bottom 1 only gives the size:
// it takes no gradient; bottom 0's gradient is the top's, scattered back,
// zero outside the window.
#pragma once

#include <memory>

#include "layers/layer.h"

namespace banyan {

// The index map of a crop, fixed at setup: top element (i_0, .., i_{r-1})
// reads bottom element (i_0 + offset_0, .., i_{r-1} + offset_{r-1}).
// Passed by value to the GPU kernels, hence the fixed bound on the rank.
struct CropGeometry {
  static constexpr int kMaxAxes = 16;
  int rank = 0;
  int64_t top_dims[kMaxAxes] = {};
  int64_t bottom_strides[kMaxAxes] = {};  // in elements
  int64_t offsets[kMaxAxes] = {};
  int64_t top_count = 0;
  // Bottom element the top's element 0 reads (sum of offset * stride).
  int64_t base = 0;
};

// Config: config.crop.{axis, offset}.  Two bottoms of the same rank: the
// data (N, ...) and the reference; one top with bottom 0's dimensions
// before `axis` and bottom 1's from `axis` on.  `offset`: none (all 0), one
// for every cropped axis, or one per cropped axis; offset + size may not
// pass bottom 0's dimension.
class CropLayer : public Layer {
 public:
  explicit CropLayer(LayerConfig config) : Layer(std::move(config)) {}

  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
  bool can_propagate_down(int bottom_index) const override { return bottom_index == 0; }
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
  CropGeometry geo_;
};

}  // namespace banyan
