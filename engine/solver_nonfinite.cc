// The solver's side of a non-finite step (SolverOptions::nan_policy): name
// the first place it shows over every worker's net (engine/nonfinite.h),
// then stop naming the last good snapshot, or skip the update.
#include <glog/logging.h>

#include "engine/nonfinite.h"
#include "engine/solver.h"
#include "engine/solver_worker.h"

namespace banyan {

std::string Solver::last_good_snapshot() const {
  if (last_snapshot_state_.empty()) return "no snapshot was written before it";
  return "the last good snapshot is '" + last_snapshot_state_ + "' (iteration " +
         std::to_string(last_snapshot_iter_) + ")";
}

Status Solver::handle_nonfinite() {
  // The first place over the workers (each scans its own net; on the
  // failing step only).
  NonFinite first;
  int first_worker = -1;
  for (int w = 0; w < workers_->size(); ++w) {
    NonFinite here;
    BANYAN_RETURN_IF_ERROR(find_first_nonfinite(*states_[w]->train_net, &here));
    if (here.before(first)) {
      first = here;
      first_worker = w;
    }
  }
  std::string where = "the loss or a gradient exchanged from another process";
  if (first.found) {
    where = first.what + (workers_->size() > 1 ? " on " + workers_->describe(first_worker) : "");
  }
  const std::string line =
      "non-finite values at iteration " + std::to_string(iter_) + ", first in " + where;
  ++skipped_in_row_;
  if (options_.nan_policy == SolverOptions::NanPolicy::kSkipStep &&
      skipped_in_row_ < options_.nan_skip_limit) {
    ++skipped_steps_;
    skipped_iters_.insert(iter_);
    LOG(WARNING) << line << "; update skipped (" << skipped_in_row_ << " in a row, "
                 << skipped_steps_ << " in all; training stops at " << options_.nan_skip_limit
                 << " in a row)";
    return Status::success();
  }
  const std::string why =
      options_.nan_policy == SolverOptions::NanPolicy::kSkipStep
          ? " (" + std::to_string(skipped_in_row_) + " non-finite steps in a row: nan_skip_limit)"
          : "";
  return Status::internal(line + "; training stopped" + why + ", " + last_good_snapshot());
}

}  // namespace banyan
