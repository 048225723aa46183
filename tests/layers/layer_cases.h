// Layer configurations shared by the CPU and GPU tests of the Convolution
// and Pooling layers: the geometry of one case and the LayerConfig it
// builds, so both suites describe cases the same way.
#pragma once

#include "engine/core/config.h"

namespace banyan::testing {

struct ConvCase {
  int num_output;
  int kernel_h, kernel_w;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dilation_h = 1, dilation_w = 1;
  int group = 1;
  bool bias = true;
};

inline LayerConfig make_conv_config(const ConvCase& k) {
  LayerConfig c;
  c.name = "conv1";
  c.type = "Convolution";
  ConvolutionConfig& p = c.convolution;
  p.num_output = k.num_output;
  p.kernel_h = k.kernel_h;
  p.kernel_w = k.kernel_w;
  p.stride_h = k.stride_h;
  p.stride_w = k.stride_w;
  p.pad_h = k.pad_h;
  p.pad_w = k.pad_w;
  p.dilation_h = k.dilation_h;
  p.dilation_w = k.dilation_w;
  p.group = k.group;
  p.bias_term = k.bias;
  p.weight_filler.type = "gaussian";
  p.weight_filler.std = 0.01f;
  p.bias_filler.type = "constant";
  p.bias_filler.value = 0.1f;
  return c;
}

struct PoolCase {
  PoolingConfig::Method method;
  int kernel_h, kernel_w;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  PoolingConfig::RoundMode round = PoolingConfig::RoundMode::kCeil;
  bool global = false;
};

inline LayerConfig make_pool_config(const PoolCase& k) {
  LayerConfig c;
  c.name = "pool1";
  c.type = "Pooling";
  PoolingConfig& p = c.pooling;
  p.pool = k.method;
  p.kernel_h = k.kernel_h;
  p.kernel_w = k.kernel_w;
  p.stride_h = k.stride_h;
  p.stride_w = k.stride_w;
  p.pad_h = k.pad_h;
  p.pad_w = k.pad_w;
  p.round_mode = k.round;
  p.global_pooling = k.global;
  return c;
}

}  // namespace banyan::testing
