// GPU Softmax on cuDNN: the softmax axis is cuDNN's C, everything before it
// N and everything after it H (W = 1), so CHANNEL mode normalises exactly
// over the axis; ACCURATE subtracts the maximum as the CPU code does.
#include "layers/softmax.h"

#include <glog/logging.h>

#include "cuda/check.h"
#include "engine/core/gpu_resources.h"

namespace banyan {
namespace {

const float kOne = 1.0f;
const float kZero = 0.0f;

}  // namespace

Status SoftmaxLayer::prepare_device(WorkerContext& /*ctx*/) {
  if (outer_ * channels_ * inner_ == 0) return Status::success();  // nothing to compute
  // setup bounded the element count below 2^31, so every extent fits an int.
  desc_.set(cuda::Layout::kNchw, cuda::DataType::kFloat32, static_cast<int>(outer_),
            static_cast<int>(channels_), static_cast<int>(inner_), 1);
  return Status::success();
}

void SoftmaxLayer::forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                               WorkerContext& ctx) {
  if (outer_ * channels_ * inner_ == 0) return;
  CHECK(desc_.get() != nullptr) << "layer " << name() << ": prepare_device did not run";
  // y (outer, channels, inner) = softmax over channels of x
  BANYAN_CUDNN_CHECK(cudnnSoftmaxForward(ctx.gpu().cudnn(), CUDNN_SOFTMAX_ACCURATE,
                                         CUDNN_SOFTMAX_MODE_CHANNEL, &kOne, desc_.get(),
                                         bottom[0]->data(), &kZero, desc_.get(), top[0]->data()));
}

void SoftmaxLayer::backward_gpu(const std::vector<Blob*>& top,
                                const std::vector<bool>& propagate_down,
                                const std::vector<Blob*>& bottom, WorkerContext& ctx) {
  if (!propagate_down[0] || outer_ * channels_ * inner_ == 0) return;
  CHECK(desc_.get() != nullptr) << "layer " << name() << ": prepare_device did not run";
  // dx = y * (dy - sum over channels of dy * y), overwritten
  BANYAN_CUDNN_CHECK(cudnnSoftmaxBackward(
      ctx.gpu().cudnn(), CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL, &kOne, desc_.get(),
      top[0]->data(), desc_.get(), top[0]->diff(), &kZero, desc_.get(), bottom[0]->diff()));
}

}  // namespace banyan
