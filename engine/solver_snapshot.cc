// Solver snapshots, exact resume and fine-tuning.  A snapshot holds replica
// 0's parameters and update history gathered from its partitions under the
// one-worker names, so a snapshot of any layout loads into any other.
#include <glog/logging.h>

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "engine/solver.h"
#include "engine/solver_worker.h"
#include "engine/weights_file.h"

namespace banyan {
namespace {

std::string solver_file(const SolverConfig& c) {
  return c.source_file.empty() ? std::string("solver") : c.source_file;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// `n` floats of `device` memory at `src`, readable on the host: `src` itself
// on the CPU, else a copy in `staged`.
Status host_view(const float* src, int64_t n, Device device, std::vector<float>* staged,
                 const float** out) {
  if (device.is_cpu()) {
    *out = src;
    return Status::success();
  }
  staged->resize(static_cast<size_t>(n));
  BANYAN_RETURN_IF_ERROR(copy_to_host(src, n, device, staged->data()));
  *out = staged->data();
  return Status::success();
}

}  // namespace

std::string Solver::snapshot_prefix() const {
  if (!config_.snapshot_prefix.empty()) return config_.snapshot_prefix;
  const std::string& f = config_.source_file;
  const size_t dot = f.find_last_of('.');
  const size_t slash = f.find_last_of('/');
  const bool has_extension =
      dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return has_extension ? f.substr(0, dot) : f;
}

Status Solver::write_snapshot_files(const std::string& weights, const std::string& state) {
  const int k_workers = workers_->group_size();  // group 0 = workers 0 .. K-1
  const int slots = history_slots(config_.type);
  std::vector<ArrayRef> arrays;
  std::vector<std::vector<ArrayRef>> hist(slots);
  std::vector<std::vector<float>> staged(2 * k_workers);
  for (int w = 0; w < k_workers; ++w) {
    const Net& net = *states_[w]->train_net;
    const Device device = workers_->ctx(w).device();
    const float* params = nullptr;
    const float* history_values = nullptr;
    BANYAN_RETURN_IF_ERROR(
        host_view(net.param_data(), net.param_count(), device, &staged[2 * w], &params));
    const int64_t history_floats = static_cast<int64_t>(slots) * net.param_count();
    if (history_floats > 0) {
      BANYAN_RETURN_IF_ERROR(
          host_view(history(w, 0), history_floats, device, &staged[2 * w + 1], &history_values));
    }
    for (const NetParam& p : net.params()) {
      arrays.push_back({p.name, p.blob->shape(), params + p.offset});
    }
    for (int s = 0; s < slots; ++s) {
      const float* slot = history_values + s * net.param_count();
      for (const NetParam* p : states_[w]->updated) {
        hist[s].push_back({p->name, p->blob->shape(), slot + p->offset});
      }
    }
  }
  BANYAN_RETURN_IF_ERROR(write_weight_arrays(weights, arrays));
  SolverStateHeader header;
  header.iteration = iter_;
  header.type = config_.type;
  header.weights_file = base_name(weights);
  return write_solver_state(state, header, hist);
}

Status Solver::snapshot(std::string* weights_path) {
  const std::string prefix = snapshot_prefix();
  if (prefix.empty()) {
    return Status::invalid_argument(solver_file(config_) +
                                    ": cannot snapshot: snapshot_prefix is empty");
  }
  const std::string base = prefix + "_iter_" + std::to_string(iter_);
  const std::string weights = base + ".banyan", state = base + ".solverstate";
  BANYAN_RETURN_IF_ERROR(average_running_statistics());
  // Replicas are equal on every process: rank 0 alone writes.
  if (lead()) {
    Status written = write_snapshot_files(weights, state);
    if (!written.ok()) {
      // Each file is written atomically; a weights file without its state
      // is no snapshot, so it goes too (and frees the space it took); never
      // the last good snapshot's own files (a second snapshot at its
      // iteration).
      if (iter_ != last_snapshot_iter_) {
        std::remove(state.c_str());
        std::remove(weights.c_str());
      }
      const std::string kept = last_snapshot_state_.empty()
                                   ? "no earlier snapshot exists"
                                   : "the last good snapshot, '" + last_snapshot_state_ +
                                         "' (iteration " + std::to_string(last_snapshot_iter_) +
                                         "), is intact";
      return Status(written.code(), "snapshot at iteration " + std::to_string(iter_) +
                                        " not written: " + written.message() + "; " + kept);
    }
    LOG(INFO) << "Snapshot at iteration " << iter_ << ": " << weights << ", " << state;
  }
  last_snapshot_iter_ = iter_;
  last_snapshot_state_ = state;
  if (weights_path != nullptr) *weights_path = weights;
  return Status::success();
}

void Solver::remove_stale_snapshot_temps() const {
  namespace fs = std::filesystem;
  const std::string prefix = snapshot_prefix();
  if (prefix.empty() || !lead()) return;
  const fs::path p(prefix);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string stem = p.filename().string() + "_iter_";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, stem.size(), stem) != 0) continue;
    size_t digits = stem.size();
    while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9') ++digits;
    const std::string rest = name.substr(digits);
    if (digits == stem.size() || (rest != ".banyan.tmp" && rest != ".solverstate.tmp")) continue;
    std::error_code removed;
    if (fs::remove(it->path(), removed)) {
      LOG(WARNING) << "removed '" << it->path().string()
                   << "', left by a run that stopped while writing a snapshot";
    }
  }
}

Status Solver::match_history(const std::string& path,
                             const std::vector<std::vector<NamedArray>>& history, int worker,
                             std::vector<std::vector<const NamedArray*>>* matched) const {
  size_t replica_updated = 0;
  for (int k = 0; k < workers_->group_size(); ++k) replica_updated += states_[k]->updated.size();
  matched->assign(history.size(), {});
  for (size_t s = 0; s < history.size(); ++s) {
    if (history[s].size() != replica_updated) {
      return Status::invalid_argument("'" + path + "' has history for " +
                                      std::to_string(history[s].size()) + " parameters but net '" +
                                      states_[0]->train_net->name() + "' updates " +
                                      std::to_string(replica_updated));
    }
    for (const NetParam* p : states_[worker]->updated) {
      const NamedArray* found = nullptr;
      for (const NamedArray& a : history[s]) found = a.name == p->name ? &a : found;
      if (found == nullptr || found->shape != p->blob->shape()) {
        return Status::invalid_argument("'" + path + "' has no history of shape " +
                                        p->blob->shape().to_string() + " for parameter '" +
                                        p->name + "' (was it written for another net?)");
      }
      (*matched)[s].push_back(found);
    }
  }
  return Status::success();
}

Status Solver::restore(const std::string& path) {
  SolverStateHeader header;
  std::vector<std::vector<NamedArray>> hist;
  BANYAN_RETURN_IF_ERROR(read_solver_state(path, &header, &hist));
  if (header.type != config_.type) {
    return Status::invalid_argument(
        "'" + path + "' holds the state of a " + solver_type_name(header.type) + " solver but " +
        solver_file(config_) + " asks for type " + solver_type_name(config_.type));
  }
  if (static_cast<int>(hist.size()) != history_slots(config_.type)) {
    return Status::data_loss("'" + path + "': " + std::to_string(hist.size()) +
                             " history slots, expected " +
                             std::to_string(history_slots(config_.type)));
  }
  // Match every history array to an updated parameter before changing anything.
  std::vector<std::vector<std::vector<const NamedArray*>>> matched(workers_->size());
  for (int w = 0; w < workers_->size(); ++w) {
    BANYAN_RETURN_IF_ERROR(match_history(path, hist, w, &matched[w]));
  }
  const std::string weights = resolve_paired_weights(path, header.weights_file);
  std::string missing;
  for (int w = 0; w < workers_->size(); ++w) {
    WeightsLoadReport report;
    BANYAN_RETURN_IF_ERROR(load_weights_into(weights, states_[w]->train_net.get(), &report)
                               .with_context("resuming from '" + path + "'"));
    for (const std::string& n : report.missing) missing += (missing.empty() ? "" : ", ") + n;
  }
  if (!missing.empty()) {
    return Status::invalid_argument("resuming from '" + path + "': weights file '" + weights +
                                    "' lacks parameters of the net: " + missing);
  }
  for (int w = 0; w < workers_->size(); ++w) {
    const auto& updated = states_[w]->updated;
    for (size_t s = 0; s < matched[w].size(); ++s) {
      for (size_t i = 0; i < updated.size(); ++i) {
        const NamedArray& a = *matched[w][s][i];
        BANYAN_RETURN_IF_ERROR(copy_to_device(
            a.data.data(), static_cast<int64_t>(a.data.size()), workers_->ctx(w).device(),
            history(w, static_cast<int>(s)) + updated[i]->offset));
      }
    }
  }
  iter_ = header.iteration;
  last_snapshot_iter_ = iter_;
  last_snapshot_state_ = path;
  losses_.clear();
  unresolved_from_ = -1;
  LOG(INFO) << "Resumed from '" << path << "' at iteration " << iter_;
  return Status::success();
}

Status Solver::load_weights(const std::string& paths) {
  size_t start = 0;
  while (start <= paths.size()) {
    size_t comma = paths.find(',', start);
    if (comma == std::string::npos) comma = paths.size();
    const std::string path = paths.substr(start, comma - start);
    if (path.empty()) {
      return Status::invalid_argument("weights list '" + paths + "' has an empty entry");
    }
    for (int w = 0; w < workers_->size(); ++w) {
      BANYAN_RETURN_IF_ERROR(load_weights_into(path, states_[w]->train_net.get()));
    }
    start = comma + 1;
  }
  return Status::success();
}

}  // namespace banyan
