// The GPU end of the input pipeline (DESIGN §6, stage 4): a uint8 batch that
// the decode stage already cropped and mirrored becomes float or bf16 with the
// mean subtracted and the scale applied, exactly as data/transform.cc does on
// the CPU (and Caffe's DataTransformer before it).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/types.h"

namespace banyan::cuda {

// All pointers are device memory.  For output element (n, c, h, w):
//
//   w_src = mirror[n] ? W - 1 - w : w          (the column the pixel came from)
//   m     = mean_image != null ? mean_image[c][h_off[n] + h][w_off[n] + w_src]
//         : mean_channel != null ? mean_channel[c]
//         : 0
//   out[n][c][h][w] = (float(in[n][c][h][w]) - m) * scale
//
// i.e. the mean is taken at the *source* pixel of the crop, so a mirrored
// sample subtracts the mirrored mean (Caffe's rule).  The input pixel itself
// is not moved: the batch holds the cropped, mirrored pixels already.
// bf16 output is that float rounded to nearest even.
struct InputConvertArgs {
  int N = 0, C = 0, H = 0, W = 0;  // output (and input) shape
  float scale = 1.0f;
  const float* mean_channel = nullptr;  // (C) or null
  const float* mean_image = nullptr;    // (C, mean_height, mean_width) or null
  int mean_height = 0, mean_width = 0;  // >= H, W; the uncropped image size
  // (N) crop offsets into the mean image; null = all 0.  The caller
  // guarantees 0 <= h_off[n] <= mean_height - H and likewise for w_off.
  const int32_t* h_off = nullptr;
  const int32_t* w_off = nullptr;
  const uint8_t* mirror = nullptr;  // (N) 0/1 flags; null = none mirrored
};

// in (N, C, H, W) uint8 -> out (N, C, H, W).  CHECKs the shape, that at most
// one kind of mean is given and that the mean image covers the crop.
void convert_input(const InputConvertArgs& args, const uint8_t* in, float* out,
                   cudaStream_t stream);
void convert_input(const InputConvertArgs& args, const uint8_t* in, Bf16* out, cudaStream_t stream);

}  // namespace banyan::cuda
