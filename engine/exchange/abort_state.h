// AbortState: the abort flag and reason an all-reduce backend shares among
// its ranks (AllReduce::abort), so every backend reports the same Aborted
// status.  Thread-safe.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "engine/core/status.h"

namespace banyan {

class AbortState {
 public:
  // Records `reason` and returns true the first time; false once aborted.
  bool set(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu_);
    if (aborted_.load()) return false;
    reason_ = reason;
    aborted_.store(true);
    return true;
  }
  bool aborted() const { return aborted_.load(); }
  // Aborted: "all-reduce aborted: <reason>".
  Status status() const {
    std::lock_guard<std::mutex> lock(mu_);
    return Status::aborted("all-reduce aborted: " + reason_);
  }

 private:
  std::atomic<bool> aborted_{false};
  mutable std::mutex mu_;
  std::string reason_;
};

}  // namespace banyan
