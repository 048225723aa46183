// Accuracy on the GPU against the CPU: top-1 and top-k, contiguous and
// spatial classes, ignore_label, the per-class top, and a batch that is
// entirely ignored.  Forward only (no gradient).
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

LayerConfig make_accuracy_config(int top_k, std::optional<int> ignore, int axis = 1) {
  LayerConfig c;
  c.name = "acc";
  c.type = "Accuracy";
  c.accuracy.top_k = top_k;
  c.accuracy.axis = axis;
  c.accuracy.ignore_label = ignore;
  return c;
}

// Labels (n * 5 + 1) % classes, every `ignore_every`-th position (0: none; -1:
// all) set to `ignore`.
GpuCompareOptions with_labels(int64_t classes, int ignore, int ignore_every) {
  GpuCompareOptions o;
  o.check_backward = false;
  o.prepare_bottoms = [=](const std::vector<Blob*>& b) {
    for (int64_t n = 0; n < b[1]->count(); ++n) {
      const bool skip = ignore_every < 0 || (ignore_every > 0 && n % ignore_every == 2);
      b[1]->data()[n] =
          skip ? static_cast<float>(ignore) : static_cast<float>((n * 5 + 1) % classes);
    }
  };
  return o;
}

TEST(GpuAccuracyTest, TopKMatchesCpuWithContiguousClasses) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (int k : {1, 3, 10}) {
    for (int tops : {1, 2}) {
      SCOPED_TRACE("top_k " + std::to_string(k) + ", " + std::to_string(tops) + " tops");
      compare_gpu_to_cpu([&] { return new_accuracy_layer(make_accuracy_config(k, 255)); },
                         {Shape{37, 10}, Shape{37}}, tops, with_labels(10, 255, 4));
    }
  }
  compare_gpu_to_cpu([] { return new_accuracy_layer(make_accuracy_config(5, std::nullopt)); },
                     {Shape{300, 1000}, Shape{300, 1}}, 2, with_labels(1000, 0, 0));
}

TEST(GpuAccuracyTest, SpatialAndOtherAxesMatchCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (int k : {1, 2}) {
    SCOPED_TRACE("top_k " + std::to_string(k));
    compare_gpu_to_cpu([&] { return new_accuracy_layer(make_accuracy_config(k, -1)); },
                       {Shape{3, 5, 7, 9}, Shape{3, 7, 9}}, 2, with_labels(5, -1, 3));
  }
  compare_gpu_to_cpu([] { return new_accuracy_layer(make_accuracy_config(2, 255, -1)); },
                     {Shape{3, 4, 6}, Shape{3, 4}}, 2, with_labels(6, 255, 5));
}

TEST(GpuAccuracyTest, IgnoredPositions) {
  BANYAN_SKIP_WITHOUT_GPU();
  // An ignore label that is itself a class id.
  compare_gpu_to_cpu([] { return new_accuracy_layer(make_accuracy_config(1, 3)); },
                     {Shape{40, 7}, Shape{40}}, 2, with_labels(7, 3, 3));
  // Every position ignored: accuracy 0, per-class 0.
  compare_gpu_to_cpu([] { return new_accuracy_layer(make_accuracy_config(1, 255)); },
                     {Shape{8, 7}, Shape{8}}, 2, with_labels(7, 255, -1));
}

}  // namespace
}  // namespace banyan
