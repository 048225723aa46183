// Learning-rate policies: validation and the closed-form rate per iteration.
#include "engine/lr_policy.h"

#include <glog/logging.h>

#include <cmath>
#include <string>

namespace banyan {
namespace {

std::string where(const SolverConfig& c) {
  return c.source_file.empty() ? std::string("solver") : c.source_file;
}

Status invalid(const SolverConfig& c, const std::string& message) {
  return Status::invalid_argument(where(c) + ": " + message);
}

double policy_rate(const SolverConfig& c, int64_t iter) {
  const double base = c.base_lr;
  const double it = static_cast<double>(iter);
  const std::string& p = c.lr_policy;
  if (p == "fixed") return base;
  if (p == "step") return base * std::pow(c.gamma, static_cast<double>(iter / c.stepsize));
  if (p == "exp") return base * std::pow(c.gamma, it);
  if (p == "inv") return base * std::pow(1.0 + c.gamma * it, -static_cast<double>(c.power));
  if (p == "multistep") {
    int passed = 0;
    for (int v : c.stepvalue) passed += iter >= v ? 1 : 0;
    return base * std::pow(c.gamma, passed);
  }
  if (p == "poly") {
    if (iter >= c.max_iter) return 0.0;
    return base * std::pow(1.0 - it / c.max_iter, static_cast<double>(c.power));
  }
  if (p == "sigmoid") return base / (1.0 + std::exp(-c.gamma * (it - c.stepsize)));
  LOG(FATAL) << "unknown lr_policy '" << p << "' (ValidateLrPolicy was not called)";
}

}  // namespace

Status validate_lr_policy(const SolverConfig& c) {
  const std::string& p = c.lr_policy;
  if (p != "fixed" && p != "step" && p != "exp" && p != "inv" && p != "multistep" && p != "poly" &&
      p != "sigmoid") {
    return invalid(c, "unknown lr_policy '" + p +
                          "' (expected fixed, step, multistep, exp, inv, poly or sigmoid)");
  }
  if (!(c.base_lr >= 0.0f) || !std::isfinite(c.base_lr)) {
    return invalid(c, "base_lr must be a finite value >= 0, got " + std::to_string(c.base_lr));
  }
  if ((p == "step" || p == "sigmoid") && c.stepsize <= 0) {
    return invalid(c,
                   "lr_policy '" + p + "' needs stepsize > 0, got " + std::to_string(c.stepsize));
  }
  if (p == "multistep") {
    if (c.stepvalue.empty()) return invalid(c, "lr_policy 'multistep' needs stepvalue entries");
    for (size_t i = 0; i < c.stepvalue.size(); ++i) {
      if (c.stepvalue[i] < 0 || (i > 0 && c.stepvalue[i] < c.stepvalue[i - 1])) {
        return invalid(c, "stepvalue must be non-negative and non-decreasing, entry " +
                              std::to_string(i) + " is " + std::to_string(c.stepvalue[i]));
      }
    }
  }
  if (p == "poly" && c.max_iter <= 0) {
    return invalid(c, "lr_policy 'poly' needs max_iter > 0, got " + std::to_string(c.max_iter));
  }
  if (p == "inv" && c.gamma < 0.0f) {
    return invalid(c, "lr_policy 'inv' needs gamma >= 0, got " + std::to_string(c.gamma));
  }
  if (c.warmup_iter < 0) {
    return invalid(c, "warmup_iter must be >= 0, got " + std::to_string(c.warmup_iter));
  }
  if (!(c.warmup_start_lr >= 0.0f)) {
    return invalid(c, "warmup_start_lr must be >= 0, got " + std::to_string(c.warmup_start_lr));
  }
  return Status::success();
}

float learning_rate(const SolverConfig& c, int64_t iter) {
  const double rate = policy_rate(c, iter);
  if (iter >= c.warmup_iter) return static_cast<float>(rate);
  const double start = c.warmup_start_lr;
  return static_cast<float>(start + (rate - start) * static_cast<double>(iter) / c.warmup_iter);
}

}  // namespace banyan
