// Helpers shared by the loss layers: Caffe's loss normalizer (every loss
// with a normalization mode) and, for HingeLoss, MultinomialLogisticLoss,
// InfogainLoss and ContrastiveLoss on CUDA
// devices, the deterministic "sum the per-position terms, divide on the
// device" step (cuda/reduce.h), which leaves the divisor on the device for
// backward (no host readback).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/core/config.h"

#ifdef BANYAN_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace banyan {

// Caffe's kLOG_THRESHOLD: probabilities are clamped to at least this before
// their log is taken (MultinomialLogisticLoss, InfogainLoss).
inline constexpr float kLogThreshold = 1e-20f;

// Caffe's LossLayer normalizer: FULL and VALID-without-a-count (valid < 0)
// outer * inner, VALID `valid`, BATCH_SIZE outer, NONE 1; at least 1.
double loss_normalizer(LossConfig::Normalization mode, int64_t outer, int64_t inner, int64_t valid);

#ifdef BANYAN_WITH_CUDA
// Bytes of device scratch gpu_loss_total needs (allocate at setup).
size_t gpu_loss_scratch_bytes();
// On `stream`: *loss = sum(terms) (or sum(terms^2) when `square`) / divisor,
// divisor = max(1, sum(valid)) when `valid` is given, else `fixed_divisor`.
// Sums are in double in a fixed order.  n may be 0 (loss 0).
void gpu_loss_total(int64_t n, const float* terms, bool square, const float* valid,
                    double fixed_divisor, void* scratch, float* loss, cudaStream_t stream);
// The divisor of the last gpu_loss_total on this scratch (one device float).
const float* gpu_loss_divisor(const void* scratch);
#endif

}  // namespace banyan
