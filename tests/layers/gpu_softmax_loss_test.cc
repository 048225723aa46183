// SoftmaxWithLoss on the GPU against the CPU: contiguous classes (warp
// kernel, including C = 1000) and spatial positions (thread kernel), other
// axes, every normalization, ignore_label (also an ignore label inside
// [0, C)), the probability top, and a batch that is entirely ignored.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;
using banyan::testing::GpuCompareOptions;
using Norm = LossConfig::Normalization;

LayerConfig make_loss_config(Norm norm, std::optional<int> ignore, int axis = 1) {
  LayerConfig c;
  c.name = "loss";
  c.type = "SoftmaxWithLoss";
  c.softmax.axis = axis;
  c.loss.normalization = norm;
  c.loss.ignore_label = ignore;
  return c;
}

// Labels (n * 7 + 3) % classes, with every `ignore_every`-th position (0:
// none; -1: all) set to `ignore`.
GpuCompareOptions with_labels(int64_t classes, int ignore, int ignore_every) {
  GpuCompareOptions o;
  o.propagate_down = {true, false};
  o.prepare_bottoms = [=](const std::vector<Blob*>& b) {
    for (int64_t n = 0; n < b[1]->count(); ++n) {
      const bool skip = ignore_every < 0 || (ignore_every > 0 && n % ignore_every == 1);
      b[1]->data()[n] =
          skip ? static_cast<float>(ignore) : static_cast<float>((n * 7 + 3) % classes);
    }
  };
  return o;
}

TEST(GpuSoftmaxLossTest, ContiguousClassesMatchCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (int64_t classes : {1, 2, 10, 37, 1000}) {
    for (Norm norm : {Norm::kValid, Norm::kFull, Norm::kBatchSize, Norm::kNone}) {
      SCOPED_TRACE(std::to_string(classes) + " classes, normalization " +
                   std::to_string(static_cast<int>(norm)));
      compare_gpu_to_cpu([&] { return new_softmax_with_loss_layer(make_loss_config(norm, 255)); },
                         {Shape{13, classes}, Shape{13}}, 2, with_labels(classes, 255, 4));
    }
  }
}

TEST(GpuSoftmaxLossTest, SpatialPositionsMatchCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (Norm norm : {Norm::kValid, Norm::kFull, Norm::kBatchSize, Norm::kNone}) {
    SCOPED_TRACE("normalization " + std::to_string(static_cast<int>(norm)));
    compare_gpu_to_cpu([&] { return new_softmax_with_loss_layer(make_loss_config(norm, -1)); },
                       {Shape{3, 5, 7, 9}, Shape{3, 1, 7, 9}}, 2, with_labels(5, -1, 3));
  }
  // Classes on the last axis, and on a middle axis of a rank-3 blob.
  compare_gpu_to_cpu(
      [] { return new_softmax_with_loss_layer(make_loss_config(Norm::kValid, 255, -1)); },
      {Shape{3, 4, 6}, Shape{3, 4}}, 2, with_labels(6, 255, 5));
  compare_gpu_to_cpu(
      [] { return new_softmax_with_loss_layer(make_loss_config(Norm::kValid, 255, 2)); },
      {Shape{2, 3, 11, 5}, Shape{2, 3, 5}}, 2, with_labels(11, 255, 5));
}

TEST(GpuSoftmaxLossTest, IgnoreLabelAndLossTopOnly) {
  BANYAN_SKIP_WITHOUT_GPU();
  // No ignore_label configured; an ignore label that is itself a class id.
  compare_gpu_to_cpu(
      [] { return new_softmax_with_loss_layer(make_loss_config(Norm::kValid, std::nullopt)); },
      {Shape{9, 6}, Shape{9}}, 1, with_labels(6, 0, 0));
  compare_gpu_to_cpu([] { return new_softmax_with_loss_layer(make_loss_config(Norm::kValid, 2)); },
                     {Shape{9, 6}, Shape{9}}, 1, with_labels(6, 2, 3));
  // Every position ignored: loss 0 (normalizer 0 taken as 1), zero gradient.
  compare_gpu_to_cpu(
      [] { return new_softmax_with_loss_layer(make_loss_config(Norm::kValid, 255)); },
      {Shape{4, 3, 2, 2}, Shape{4, 2, 2}}, 1, with_labels(3, 255, -1));
}

}  // namespace
}  // namespace banyan
