// GPU Convolution (cuDNN, measured algorithms) against the CPU path on random
// inputs: top, bottom gradient, and weight and bias gradients accumulated
// onto non-zero values.  Odd shapes, stride, pad, dilation, groups
// (depthwise included), 1x1, with and without bias.  Skips without a GPU.
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
using banyan::testing::make_conv_config;

struct GpuConvCase {
  Shape bottom;
  ConvCase conv;
};

void PrintTo(const GpuConvCase& c, std::ostream* os) {
  const ConvCase& k = c.conv;
  *os << "bottom " << c.bottom.to_string() << " num_output " << k.num_output << " kernel "
      << k.kernel_h << "x" << k.kernel_w << " stride " << k.stride_h << "x" << k.stride_w << " pad "
      << k.pad_h << "x" << k.pad_w << " dilation " << k.dilation_h << "x" << k.dilation_w
      << " group " << k.group << (k.bias ? " bias" : " no bias");
}

// cuDNN's algorithms (implicit GEMM, FFT, Winograd) sum in other orders than
// the CPU's GEMM; TF32 is off in the comparison.
GpuCompareOptions conv_options() {
  GpuCompareOptions o;
  o.rel_tol = 1e-4f;
  o.abs_tol = 1e-4f;
  return o;
}

const GpuConvCase kGpuConvCases[] = {
    {Shape{2, 3, 7, 7}, {4, 3, 3}},
    // Odd sizes, stride 2x3, pad 1x0, non-square kernel.
    {Shape{2, 3, 9, 8}, {5, 3, 2, 2, 3, 1, 0}},
    // Dilation 2 with pad and two groups.
    {Shape{1, 4, 9, 10}, {6, 3, 3, 1, 2, 2, 1, 2, 2, 2}},
    // Different dilations per axis, three groups, stride 2x1.
    {Shape{2, 6, 8, 7}, {9, 2, 3, 2, 1, 1, 2, 3, 1, 3}},
    // 1x1 without bias (reads the bottom directly on the CPU).
    {Shape{2, 5, 4, 6}, {3, 1, 1, 1, 1, 0, 0, 1, 1, 1, false}},
    // 1x1 with stride 2, pad 1 and groups.
    {Shape{1, 4, 5, 5}, {4, 1, 1, 2, 2, 1, 1, 1, 1, 2}},
    // Kernel exactly the padded input.
    {Shape{1, 2, 3, 3}, {2, 5, 5, 1, 1, 1, 1}},
    // Depthwise 3x3.
    {Shape{2, 8, 9, 9}, {8, 3, 3, 1, 1, 1, 1, 1, 1, 8, false}},
    // AlexNet-like: 11x11 stride 4, and 5x5 pad 2 with two groups.
    {Shape{2, 3, 35, 33}, {8, 11, 11, 4, 4}},
    {Shape{3, 16, 13, 13}, {32, 5, 5, 1, 1, 2, 2, 1, 1, 2}},
    // Many channels, few pixels (GEMM-like backward filter).
    {Shape{4, 64, 3, 3}, {48, 3, 3, 1, 1, 1, 1}},
};

class GpuConvolutionTest : public ::testing::TestWithParam<GpuConvCase> {};

TEST_P(GpuConvolutionTest, MatchesCpu) {
  BANYAN_SKIP_WITHOUT_GPU();
  const LayerConfig config = make_conv_config(GetParam().conv);
  compare_gpu_to_cpu([&] { return new_convolution_layer(config); }, {GetParam().bottom}, 1,
                     conv_options());
}

INSTANTIATE_TEST_SUITE_P(Configs, GpuConvolutionTest, ::testing::ValuesIn(kGpuConvCases));

TEST(GpuConvolutionLayerTest, ParamGradientsWithoutBottomGradient) {
  BANYAN_SKIP_WITHOUT_GPU();
  const LayerConfig config = make_conv_config({6, 3, 3, 2, 1, 1, 1, 1, 1, 2});
  GpuCompareOptions o = conv_options();
  o.propagate_down = {false};
  compare_gpu_to_cpu([&] { return new_convolution_layer(config); }, {Shape{2, 4, 7, 6}}, 1, o);
}

}  // namespace
}  // namespace banyan
