// What keeps the replicas of one model the same across the worker groups of
// every process: BatchNorm's running statistics averaged before test passes
// and snapshots, and --check_replicas' comparison of the replicas'
// checksums after each update (within the process and across processes).
#include <string>
#include <vector>

#include "engine/solver.h"
#include "engine/solver_worker.h"

namespace banyan {

Status Solver::average_running_statistics() {
  if (global_groups() == 1) return Status::success();
  for (int k = 0; k < workers_->group_size(); ++k) {
    // Partition k's statistics in each local group (the same layout in all).
    std::vector<std::vector<const NetParam*>> stats(static_cast<size_t>(num_groups()));
    int64_t total = 0;
    for (int g = 0; g < num_groups(); ++g) {
      for (const NetParam& p : states_[workers_->worker_index(g, k)]->train_net->params()) {
        if (!p.learnable) stats[static_cast<size_t>(g)].push_back(&p);
      }
    }
    for (const NetParam* p : stats[0]) total += p->blob->count();
    if (total == 0) continue;  // the same on every process: one net
    std::vector<double> sum(static_cast<size_t>(total), 0.0);
    std::vector<float> values(static_cast<size_t>(total));
    for (int g = 0; g < num_groups(); ++g) {
      const Device device = workers_->ctx(workers_->worker_index(g, k)).device();
      float* at = values.data();
      for (const NetParam* p : stats[static_cast<size_t>(g)]) {
        BANYAN_RETURN_IF_ERROR(copy_to_host(p->master, p->blob->count(), device, at));
        at += p->blob->count();
      }
      for (size_t i = 0; i < values.size(); ++i) sum[i] += values[i];
    }
    BANYAN_RETURN_IF_ERROR(sum_over_processes(sum.data(), sum.size()));
    for (size_t i = 0; i < values.size(); ++i) {
      values[i] = static_cast<float>(sum[i] / global_groups());
    }
    for (int g = 0; g < num_groups(); ++g) {
      const Device device = workers_->ctx(workers_->worker_index(g, k)).device();
      const float* at = values.data();
      for (const NetParam* p : stats[static_cast<size_t>(g)]) {
        BANYAN_RETURN_IF_ERROR(copy_to_device(at, p->blob->count(), device, p->master));
        at += p->blob->count();
      }
    }
  }
  return Status::success();
}

Status Solver::check_replicas() {
  if (global_groups() == 1) return Status::success();
  for (int k = 0; process_comm_ != nullptr && k < workers_->group_size(); ++k) {
    // Replica 0 of every process against rank 0's.
    std::vector<uint64_t> all;
    BANYAN_RETURN_IF_ERROR(
        process_comm_->gather_all(states_[workers_->worker_index(0, k)]->checksum, &all));
    for (size_t r = 1; r < all.size(); ++r) {
      if (all[r] != all[0]) {
        Status s = Status::internal("replicas diverged after iteration " + std::to_string(iter_) +
                                    ": partition " + std::to_string(k) + " of " +
                                    options_.cluster->describe_rank(static_cast<int>(r)) +
                                    " differs from " + options_.cluster->describe_rank(0));
        workers_->abort(s.message());
        return s;
      }
    }
  }
  for (int k = 0; k < workers_->group_size(); ++k) {
    const int first = workers_->worker_index(0, k);
    for (int g = 1; g < num_groups(); ++g) {
      const int w = workers_->worker_index(g, k);
      if (states_[w]->checksum != states_[first]->checksum) {
        Status s = Status::internal("replicas diverged after iteration " + std::to_string(iter_) +
                                    ": the parameters of " + workers_->describe(w) +
                                    " differ from those of " + workers_->describe(first));
        workers_->abort(s.message());
        return s;
      }
    }
  }
  return Status::success();
}

}  // namespace banyan
