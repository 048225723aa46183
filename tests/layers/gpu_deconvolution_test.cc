// GPU Deconvolution (cuDNN: backward-data forward, forward for dx,
// backward-filter with x and dy swapped for dW) against the CPU path on
// random inputs: top, bottom gradient, weight and bias gradients accumulated
// onto non-zero values.  Upsampling strides, pad, dilation, groups, 1x1,
// with and without bias.  Skips without a GPU.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "tests/common/gpu_compare.h"
#include "tests/common/gpu_skip.h"
#include "tests/layers/layer_cases.h"

namespace banyan {
namespace {

using banyan::testing::compare_gpu_to_cpu;
using banyan::testing::ConvCase;
using banyan::testing::GpuCompareOptions;

LayerConfig make_deconv_config(const ConvCase& k) {
  LayerConfig c = banyan::testing::make_conv_config(k);
  c.name = "up1";
  c.type = "Deconvolution";
  return c;
}

struct GpuDeconvCase {
  Shape bottom;
  ConvCase conv;
};

void PrintTo(const GpuDeconvCase& c, std::ostream* os) {
  const ConvCase& k = c.conv;
  *os << "bottom " << c.bottom.to_string() << " num_output " << k.num_output << " kernel "
      << k.kernel_h << "x" << k.kernel_w << " stride " << k.stride_h << "x" << k.stride_w << " pad "
      << k.pad_h << "x" << k.pad_w << " dilation " << k.dilation_h << "x" << k.dilation_w
      << " group " << k.group << (k.bias ? " bias" : " no bias");
}

// cuDNN sums in other orders than the CPU's GEMM; TF32 is off in the comparison.
GpuCompareOptions deconv_options() {
  GpuCompareOptions o;
  o.rel_tol = 1e-4f;
  o.abs_tol = 1e-4f;
  return o;
}

const GpuDeconvCase kGpuDeconvCases[] = {
    // FCN's 2x upsampling (kernel 4, stride 2, pad 1) and 32x (kernel 64, stride 32).
    {Shape{2, 3, 5, 4}, {4, 4, 4, 2, 2, 1, 1}},
    {Shape{1, 2, 2, 3}, {2, 64, 64, 32, 32, 0, 0, 1, 1, 1, false}},
    {Shape{2, 2, 3, 3}, {3, 3, 3}},
    // Non-square kernel, stride 3x2, pad 0x1.
    {Shape{1, 3, 4, 5}, {2, 2, 3, 3, 2, 0, 1}},
    // Dilation 2x1, two groups.
    {Shape{2, 4, 3, 4}, {6, 3, 2, 1, 2, 1, 0, 2, 1, 2}},
    // 1x1 without bias; 1x1 with stride 2.
    {Shape{2, 5, 3, 4}, {3, 1, 1, 1, 1, 0, 0, 1, 1, 1, false}},
    {Shape{1, 2, 3, 3}, {2, 1, 1, 2, 2}},
    // Depthwise 4x4 stride 2 (bilinear-style upsampling per channel).
    {Shape{2, 8, 5, 5}, {8, 4, 4, 2, 2, 1, 1, 1, 1, 8, false}},
    // Many channels, few pixels.
    {Shape{4, 48, 3, 3}, {64, 3, 3, 1, 1, 1, 1}},
};

class GpuDeconvolutionTest : public ::testing::TestWithParam<GpuDeconvCase> {};

TEST_P(GpuDeconvolutionTest, MatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  const LayerConfig config = make_deconv_config(GetParam().conv);
  compare_gpu_to_cpu([&] { return new_deconvolution_layer(config); }, {GetParam().bottom}, 1,
                     deconv_options());
}

INSTANTIATE_TEST_SUITE_P(Configs, GpuDeconvolutionTest, ::testing::ValuesIn(kGpuDeconvCases));

TEST(GpuDeconvolutionLayerTest, ParamGradientsWithoutBottomGradient) {
  BANYAN_SKIP_WITHOUT_GPU();
  const LayerConfig config = make_deconv_config({6, 3, 3, 2, 1, 1, 1, 1, 1, 2});
  GpuCompareOptions o = deconv_options();
  o.propagate_down = {false};
  compare_gpu_to_cpu([&] { return new_deconvolution_layer(config); }, {Shape{2, 4, 5, 6}}, 1, o);
}

}  // namespace
}  // namespace banyan
