// Solver test passes, sharded over the worker groups: batch b of a pass
// runs on group b mod G and reads what one worker's batch b reads; each
// worker sums its outputs' batch means and the solver merges them in the
// one-worker output order, so results do not depend on the layout.
#include <glog/logging.h>

#include <algorithm>
#include <sstream>

#include "engine/solver.h"
#include "engine/solver_worker.h"

namespace banyan {

// Test net `i` on one worker: the batches b = group, group + G, ... of the
// pass, each reading what one worker's batch b reads.
Status Solver::test_worker(int w, size_t i) {
  WorkerContext& ctx = workers_->ctx(w);
  const WorkerPlacement& place = ctx.placement();
  const TransferHub& hub = workers_->hub(place.local_group_index);
  WorkerState& st = *states_[w];
  Net& net = *st.test_nets[i];
  st.test_sums.assign(net.outputs().size(), 0.0);
  std::vector<float> host;
  for (int b = place.group_index; b < config_.test_iter[i]; b += place.num_groups) {
    StepInfo& step = ctx.step();
    step.phase = Phase::kTest;
    step.iteration = b;
    step.sample_base = static_cast<int64_t>(b) * test_batches_[i];
    net.forward();
    BANYAN_RETURN_IF_ERROR(ctx.take_error());
    if (hub.aborted()) return Status::aborted("stopped: " + hub.reason());
    for (size_t o = 0; o < net.outputs().size(); ++o) {
      const Blob* blob = net.outputs()[o].blob;
      BANYAN_RETURN_IF_ERROR(blob_to_host(*blob, false, &host));
      double s = 0.0;
      for (float v : host) s += v;
      st.test_sums[o] += blob->count() > 0 ? s / blob->count() : 0.0;
    }
  }
  return Status::success();
}

void Solver::merge_test_sums(size_t i, std::vector<std::pair<NetOutput, double>>* merged) const {
  merged->clear();
  for (int w = 0; w < workers_->size(); ++w) {
    const auto& outputs = states_[w]->test_nets[i]->outputs();
    for (size_t o = 0; o < outputs.size(); ++o) {
      auto it = std::find_if(merged->begin(), merged->end(),
                             [&](const auto& m) { return m.first.order == outputs[o].order; });
      if (it == merged->end()) {
        merged->push_back({outputs[o], states_[w]->test_sums[o]});
      } else {
        it->second += states_[w]->test_sums[o];
      }
    }
  }
  std::sort(merged->begin(), merged->end(),
            [](const auto& a, const auto& b) { return a.first.order < b.first.order; });
}

Status Solver::test_all(TestResults* results) {
  if (results != nullptr) results->clear();
  BANYAN_RETURN_IF_ERROR(average_running_statistics());
  for (size_t i = 0; i < config_.test_iter.size(); ++i) {
    LOG(INFO) << "Iteration " << iter_ << ", Testing net (#" << i << ")";
    BANYAN_RETURN_IF_ERROR(workers_->run([&](int w) { return test_worker(w, i); }));
    std::vector<std::pair<NetOutput, double>> merged;
    merge_test_sums(i, &merged);
    std::vector<double> sums;
    for (const auto& m : merged) sums.push_back(m.second);
    BANYAN_RETURN_IF_ERROR(sum_over_processes(sums.data(), sums.size()));
    for (size_t o = 0; o < merged.size(); ++o) merged[o].second = sums[o];
    std::vector<std::pair<std::string, float>> means;
    MetricsLine m;
    m.iter = iter_;
    m.phase = "test";
    m.values.push_back({"test_net", static_cast<double>(i)});
    double loss = 0.0;
    for (size_t o = 0; o < merged.size(); ++o) {
      const NetOutput& out = merged[o].first;
      const float mean = static_cast<float>(merged[o].second / config_.test_iter[i]);
      loss += static_cast<double>(out.loss_weight) * mean;
      std::ostringstream line;
      line << "    Test net output #" << o << ": " << out.name << " = " << mean;
      if (out.loss_weight != 0.0f) {
        line << " (* " << out.loss_weight << " = " << out.loss_weight * mean << " loss)";
      }
      LOG(INFO) << line.str();
      m.values.push_back({out.name, mean});
      means.push_back({out.name, mean});
    }
    if (config_.test_compute_loss) {
      LOG(INFO) << "Test loss: " << loss;
      m.values.push_back({"total_loss", loss});
    }
    if (metrics_.is_open()) BANYAN_RETURN_IF_ERROR(metrics_.write(m));
    if (results != nullptr) results->push_back(std::move(means));
  }
  if (metrics_.is_open() && options_.after_test_pass) options_.after_test_pass();
  return Status::success();
}

bool Solver::test_due() const {
  return config_.test_interval > 0 && !config_.test_iter.empty() &&
         iter_ % config_.test_interval == 0 && (iter_ > 0 || config_.test_initialization);
}

}  // namespace banyan
