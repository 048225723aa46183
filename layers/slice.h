// Slice layer (Caffe's): splits its bottom along one axis into consecutive
// parts, one per top, at the given slice points or evenly; the backward
// pass joins the tops' gradients back (Concat run the other way).
#pragma once

#include <memory>
#include <vector>

#include "layers/layer.h"

namespace banyan {

// Config: config.slice.{axis, slice_point} (negative axis counts from the
// end).  One bottom, one or more tops.  With slice points (strictly
// increasing, each in (0, dim), one fewer than the tops) top i takes
// [point[i-1], point[i]) of the axis; without, the axis dimension must
// divide evenly among the tops.
class SliceLayer : public Layer {
 public:
  explicit SliceLayer(LayerConfig config) : Layer(std::move(config)) {}

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
  int axis_ = 0;       // canonical
  int64_t outer_ = 0;  // count(0, axis)
  int64_t inner_ = 0;  // count(axis + 1)
};

}  // namespace banyan
