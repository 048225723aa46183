// BatchNorm on the GPU against the CPU (tolerance 1e-4): batch statistics and
// stored statistics (use_global_stats true/false), several ranks and sizes,
// the zero factor.  The running-statistics update and run-to-run bitwise
// reproducibility are checked in gpu_layer_state_test.cc.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "layers/batch_norm.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;
using banyan::testing::GpuCompareOptions;

LayerConfig make_batch_norm_config(std::optional<bool> global) {
  LayerConfig c;
  c.name = "bn1";
  c.type = "BatchNorm";
  c.batch_norm.use_global_stats = global;
  c.batch_norm.moving_average_fraction = 0.9f;
  c.batch_norm.eps = 1e-5f;
  return c;
}

// BatchNorm whose stored statistics are set (on its own device) once
// parameters are bound: means around 0.3, variances in [0.5, 1.5], factor
// `factor`, so global statistics are well defined.
class BatchNormWithStats : public BatchNormLayer {
 public:
  BatchNormWithStats(LayerConfig config, float factor)
      : BatchNormLayer(std::move(config)), factor_(factor) {}

  Status on_params_bound() override {
    const int64_t channels = params()[0].blob->count();
    std::vector<float> mean(channels), var(channels);
    for (int64_t c = 0; c < channels; ++c) {
      mean[c] = 0.3f * (factor_ == 0.0f ? 1.0f : factor_) + 0.1f * static_cast<float>(c % 5);
      var[c] = (0.5f + static_cast<float>(c % 7) / 6.0f) * (factor_ == 0.0f ? 1.0f : factor_);
    }
    BANYAN_RETURN_IF_ERROR(
        copy_to_device(mean.data(), channels, device(), params()[0].blob->data()));
    BANYAN_RETURN_IF_ERROR(
        copy_to_device(var.data(), channels, device(), params()[1].blob->data()));
    return copy_to_device(&factor_, 1, device(), params()[2].blob->data());
  }

 private:
  float factor_;
};

GpuCompareOptions batch_norm_options() {
  GpuCompareOptions o;
  o.rel_tol = 1e-4f;
  o.abs_tol = 1e-5f;
  return o;
}

TEST(GpuBatchNormTest, BatchStatisticsMatchCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (const Shape& s : {Shape{2, 3, 5, 7}, Shape{7, 5}, Shape{9}, Shape{3, 4, 3, 5, 2},
                         Shape{32, 8, 17, 17}, Shape{1, 3, 1, 1}}) {
    SCOPED_TRACE("shape " + s.to_string());
    compare_gpu_to_cpu(
        [&] { return std::make_unique<BatchNormWithStats>(make_batch_norm_config(false), 2.0f); },
        {s}, 1, batch_norm_options());
  }
}

TEST(GpuBatchNormTest, GlobalStatisticsMatchCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  for (float factor : {2.5f, 1.0f, 0.0f}) {
    for (const Shape& s : {Shape{2, 3, 5, 7}, Shape{7, 5}, Shape{32, 8, 17, 17}}) {
      SCOPED_TRACE("factor " + std::to_string(factor) + " shape " + s.to_string());
      compare_gpu_to_cpu(
          [&] {
            return std::make_unique<BatchNormWithStats>(make_batch_norm_config(true), factor);
          },
          {s}, 1, batch_norm_options());
    }
  }
}

TEST(GpuBatchNormTest, DefaultModeInTrainUsesBatchStatistics) {
  BANYAN_SKIP_WITHOUT_GPU();
  // The harness runs in TRAIN: the default (unset) mode uses batch statistics.
  compare_gpu_to_cpu(
      [] {
        return std::make_unique<BatchNormWithStats>(make_batch_norm_config(std::nullopt), 2.0f);
      },
      {Shape{4, 6, 3, 3}}, 1, batch_norm_options());
}

}  // namespace
}  // namespace banyan
