// Learning-rate policies (Caffe's definitions) and Banyan's linear warm-up.
// The rate is a pure function of (config, iteration), so a resumed run gets
// exactly the rates of an uninterrupted one without saving any policy state.
#pragma once

#include <cstdint>

#include "engine/core/config.h"
#include "engine/core/status.h"

namespace banyan {

// Checks the fields the chosen policy reads: an unknown lr_policy, base_lr <
// 0, stepsize <= 0 for step and sigmoid, an empty or decreasing stepvalue for
// multistep, max_iter <= 0 for poly, gamma < 0 for inv, warmup_iter < 0 or
// warmup_start_lr < 0.  InvalidArgument naming the solver file and the field.
Status validate_lr_policy(const SolverConfig& config);

// The learning rate at solver iteration `iter` (>= 0), with base = base_lr:
//   fixed      base
//   step       base * gamma ^ floor(iter / stepsize)
//   exp        base * gamma ^ iter
//   inv        base * (1 + gamma * iter) ^ (-power)
//   multistep  base * gamma ^ (number of stepvalue entries <= iter)
//   poly       base * (1 - iter / max_iter) ^ power   (0 from max_iter on)
//   sigmoid    base / (1 + exp(-gamma * (iter - stepsize)))
// Warm-up: for iter < warmup_iter the rate moves linearly from
// warmup_start_lr (at iter 0) towards the policy's own rate at iter:
//   warmup_start_lr + (policy(iter) - warmup_start_lr) * iter / warmup_iter,
// and from warmup_iter on it is policy(iter), so the curve is continuous.
// Computed in double.  The config must have passed ValidateLrPolicy (CHECKed
// for the policy name).
float learning_rate(const SolverConfig& config, int64_t iter);

}  // namespace banyan
