// Solver: construction and validation, the training iteration, test passes,
// display and metrics, snapshots, resume and fine-tuning.  Gradients are
// averaged over iter_size before clipping, so clip_gradients means the same
// whatever iter_size is.
#include "engine/solver.h"

#include <glog/logging.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "engine/evaluate.h"
#include "engine/lr_policy.h"
#include "engine/weights_file.h"

namespace banyan {
namespace {

double NowSeconds() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

std::string SolverFile(const SolverConfig& c) {
  return c.source_file.empty() ? std::string("solver") : c.source_file;
}

Status Invalid(const SolverConfig& c, const std::string& message) {
  return Status::InvalidArgument(SolverFile(c) + ": " + message);
}

// The fields the solver itself reads (the policy and update rule validate theirs).
Status ValidateSolverFields(const SolverConfig& c) {
  if (c.max_iter < 0) return Invalid(c, "max_iter must be >= 0, got " + std::to_string(c.max_iter));
  for (size_t i = 0; i < c.test_iter.size(); ++i) {
    if (c.test_iter[i] <= 0) {
      return Invalid(c, "test_iter entry " + std::to_string(i) + " must be > 0, got " +
                            std::to_string(c.test_iter[i]));
    }
  }
  const std::pair<const char*, int> non_negative[] = {
      {"test_interval", c.test_interval}, {"display", c.display}, {"snapshot", c.snapshot}};
  for (const auto& [name, value] : non_negative) {
    if (value < 0) {
      return Invalid(c, std::string(name) + " must be >= 0, got " + std::to_string(value));
    }
  }
  if (c.average_loss < 1) {
    return Invalid(c, "average_loss must be >= 1, got " + std::to_string(c.average_loss));
  }
  if (c.precision != SolverConfig::Precision::kFloat32) {
    return Status::Unimplemented(SolverFile(c) +
                                 ": precision BF16 needs the GPU backend; use FP32 on the CPU");
  }
  return Status::Ok();
}

// The directory part of a snapshot prefix ("." when it has none).
std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

double MeanOf(const Blob& b) {
  double s = 0.0;
  for (int64_t i = 0; i < b.count(); ++i) s += b.data()[i];
  return b.count() > 0 ? s / b.count() : 0.0;
}

}  // namespace

Solver::Solver(const SolverConfig& config, const SolverOptions& options)
    : config_(config), options_(options) {}

Solver::~Solver() = default;

Status Solver::Create(const SolverConfig& config, const NetConfig& net,
                      const SolverOptions& options, std::unique_ptr<Solver>* out) {
  if (!options.device.is_cpu()) {
    return Status::Unimplemented("device " + options.device.ToString() +
                                 ": the solver runs on the CPU only in this version; use "
                                 "--devices=cpu");
  }
  BANYAN_RETURN_IF_ERROR(ValidateSolverFields(config));
  BANYAN_RETURN_IF_ERROR(ValidateLrPolicy(config));
  BANYAN_RETURN_IF_ERROR(ValidateUpdateConfig(config));
  std::unique_ptr<Solver> solver(new Solver(config, options));
  BANYAN_RETURN_IF_ERROR(solver->Init(net));
  *out = std::move(solver);
  return Status::Ok();
}

Status Solver::Init(const NetConfig& net) {
  if (config_.snapshot > 0 || config_.snapshot_after_train) {
    const std::string prefix = SnapshotPrefix();
    if (prefix.empty()) {
      return Invalid(config_,
                     "snapshots are enabled (snapshot / snapshot_after_train) but "
                     "snapshot_prefix is empty");
    }
    const std::string dir = DirectoryOf(prefix);
    if (::access(dir.c_str(), W_OK) != 0) {
      return Status::NotFound(SolverFile(config_) + ": snapshot_prefix '" + prefix +
                              "': directory '" + dir + "' is missing or not writable (" +
                              std::strerror(errno) + ")");
    }
  }
  const uint64_t seed =
      config_.random_seed < 0 ? kDefaultSolverSeed : static_cast<uint64_t>(config_.random_seed);
  ctx_ = std::make_unique<WorkerContext>(options_.device, seed);
  NetBuildOptions train_options;
  train_options.phase = Phase::kTrain;
  BANYAN_RETURN_IF_ERROR(Net::Create(net, train_options, ctx_.get(), &train_net_));
  for (size_t i = 0; i < config_.test_iter.size(); ++i) {
    NetBuildOptions test_options;
    test_options.phase = Phase::kTest;
    test_options.share_params_from = train_net_.get();
    std::unique_ptr<Net> test_net;
    BANYAN_RETURN_IF_ERROR(Net::Create(net, test_options, ctx_.get(), &test_net));
    test_nets_.push_back(std::move(test_net));
  }
  if (config_.test_interval > 0 && test_nets_.empty()) {
    LOG(WARNING) << SolverFile(config_) << ": test_interval is set but there is no test_iter; "
                 << "no test passes will run";
  }
  for (const NetParam& p : train_net_->params()) {
    if (p.learnable && p.lr_mult != 0.0f) updated_.push_back(&p);
  }
  spans_ = UpdateSpansFor(train_net_->params());
  const size_t floats = HistorySlots(config_.type) * static_cast<size_t>(train_net_->param_count());
  BANYAN_RETURN_IF_ERROR(Buffer::Allocate(options_.device, floats * sizeof(float), &history_)
                             .WithContext("solver history"));
  if (!options_.metrics_path.empty()) {
    BANYAN_RETURN_IF_ERROR(MetricsWriter::Open(options_.metrics_path, &metrics_));
  }
  const WorkerPlacement& place = ctx_->placement();
  LOG(INFO) << "Solver " << SolverTypeName(config_.type) << " on " << options_.device.ToString()
            << ", seed " << seed << ", global batch " << place.num_groups << " x "
            << train_net_->batch_size() << " x iter_size " << config_.iter_size << " = "
            << place.num_groups * train_net_->batch_size() * config_.iter_size << ", "
            << spans_.size() << " of " << train_net_->params().size() << " parameters updated, "
            << test_nets_.size() << " test net(s)";
  return Status::Ok();
}

float* Solver::history(int slot) const {
  if (slot >= HistorySlots(config_.type)) return nullptr;
  return static_cast<float*>(history_.data()) + slot * train_net_->param_count();
}

float Solver::smoothed_loss() const {
  double s = 0.0;
  for (float l : losses_) s += l;
  return losses_.empty() ? 0.0f : static_cast<float>(s / losses_.size());
}

Status Solver::Step(int iterations) {
  if (iterations < 0) {
    return Status::InvalidArgument("Step needs a non-negative iteration count, got " +
                                   std::to_string(iterations));
  }
  for (int i = 0; i < iterations; ++i) BANYAN_RETURN_IF_ERROR(TrainIteration());
  return Status::Ok();
}

Status Solver::TrainIteration() {
  const double t0 = NowSeconds();
  if (!started_) {
    started_ = true;
    start_seconds_ = t0;
  }
  Net& net = *train_net_;
  const WorkerPlacement& place = ctx_->placement();
  net.ClearParamDiffs();
  double loss = 0.0;
  for (int k = 0; k < config_.iter_size; ++k) {
    StepInfo& step = ctx_->step();
    step.phase = Phase::kTrain;
    step.iteration = iter_ * config_.iter_size + k;
    step.sample_base = (step.iteration * place.num_groups + place.group_index) * net.batch_size();
    loss += net.Forward();
    net.Backward();
  }
  loss /= config_.iter_size;
  if (config_.iter_size > 1) ScaleDiffs(spans_, 1.0f / config_.iter_size, net.param_diff());
  ClipGradients(spans_, config_.clip_gradients, net.param_diff());
  const float lr = LearningRate(config_, iter_);
  ApplyUpdates(MakeUpdateRule(config_, lr, iter_), spans_, net.param_data(), net.param_diff(),
               history(0), history(1));
  losses_.push_back(static_cast<float>(loss));
  while (static_cast<int>(losses_.size()) > config_.average_loss) losses_.pop_front();
  train_seconds_since_display_ += NowSeconds() - t0;
  ++iters_since_display_;
  if (config_.display > 0 && iter_ % config_.display == 0) BANYAN_RETURN_IF_ERROR(Display(lr));
  ++iter_;
  return Status::Ok();
}

Status Solver::Display(float lr) {
  const double secs = std::max(train_seconds_since_display_, 1e-9);
  const double iters_per_s = iters_since_display_ / secs;
  const double images_per_s = iters_since_display_ * static_cast<double>(train_net_->batch_size()) *
                              config_.iter_size * ctx_->placement().num_groups / secs;
  const float loss = smoothed_loss();
  // ETA from the current training rate; test passes are not included.
  const long long eta_s =
      static_cast<long long>(std::max<int64_t>(config_.max_iter - iter_, 0) / iters_per_s + 0.5);
  char line[200];
  std::snprintf(line, sizeof(line),
                "Iteration %lld (%.1f iter/s, %.0f img/s, ETA %lldh%02lldm%02llds), loss = %g",
                static_cast<long long>(iter_), iters_per_s, images_per_s, eta_s / 3600,
                eta_s / 60 % 60, eta_s % 60, loss);
  LOG(INFO) << line;
  const auto& outputs = train_net_->outputs();
  for (size_t o = 0; o < outputs.size(); ++o) {
    LOG(INFO) << "    Train net output #" << o << ": " << outputs[o].name << " = "
              << MeanOf(*outputs[o].blob);
  }
  LOG(INFO) << "    lr = " << lr;
  train_seconds_since_display_ = 0.0;
  iters_since_display_ = 0;
  if (!metrics_.is_open()) return Status::Ok();
  MetricsLine m;
  m.iter = iter_;
  m.phase = "train";
  m.values = {{"loss", loss},
              {"lr", lr},
              {"images_per_s", images_per_s},
              {"elapsed_s", NowSeconds() - start_seconds_}};
  return metrics_.Write(m);
}

Status Solver::TestAll(TestResults* results) {
  if (results != nullptr) results->clear();
  for (size_t i = 0; i < test_nets_.size(); ++i) {
    LOG(INFO) << "Iteration " << iter_ << ", Testing net (#" << i << ")";
    std::vector<std::pair<std::string, float>> means;
    BANYAN_RETURN_IF_ERROR(EvaluateNet(*test_nets_[i], config_.test_iter[i], &means));
    MetricsLine m;
    m.iter = iter_;
    m.phase = "test";
    m.values.push_back({"test_net", static_cast<double>(i)});
    const auto& outputs = test_nets_[i]->outputs();
    for (size_t o = 0; o < means.size(); ++o) {
      const float w = outputs[o].loss_weight;
      std::ostringstream line;
      line << "    Test net output #" << o << ": " << means[o].first << " = " << means[o].second;
      if (w != 0.0f) line << " (* " << w << " = " << w * means[o].second << " loss)";
      LOG(INFO) << line.str();
      m.values.push_back({means[o].first, means[o].second});
    }
    if (metrics_.is_open()) BANYAN_RETURN_IF_ERROR(metrics_.Write(m));
    if (results != nullptr) results->push_back(std::move(means));
  }
  return Status::Ok();
}

bool Solver::TestDue() const {
  return config_.test_interval > 0 && !test_nets_.empty() && iter_ % config_.test_interval == 0 &&
         (iter_ > 0 || config_.test_initialization);
}

Status Solver::Solve() {
  LOG(INFO) << "Solving " << train_net_->name() << " from iteration " << iter_ << " to "
            << config_.max_iter;
  while (iter_ < config_.max_iter) {
    if (options_.stop_requested != nullptr && options_.stop_requested->load()) {
      return StopWithSnapshot();
    }
    if (TestDue()) BANYAN_RETURN_IF_ERROR(TestAll());
    BANYAN_RETURN_IF_ERROR(TrainIteration());
    if (config_.snapshot > 0 && iter_ % config_.snapshot == 0) BANYAN_RETURN_IF_ERROR(Snapshot());
  }
  if (config_.snapshot_after_train && last_snapshot_iter_ != iter_) {
    BANYAN_RETURN_IF_ERROR(Snapshot());
  }
  if (config_.test_interval > 0 && !test_nets_.empty() && iter_ % config_.test_interval == 0) {
    BANYAN_RETURN_IF_ERROR(TestAll());
  }
  LOG(INFO) << "Optimization done at iteration " << iter_;
  return Status::Ok();
}

Status Solver::StopWithSnapshot() {
  const std::string at = "stop requested at iteration " + std::to_string(iter_);
  const std::string prefix = SnapshotPrefix();
  if (prefix.empty()) {
    return Status::Cancelled(at + "; no snapshot written (snapshot_prefix is empty)");
  }
  if (last_snapshot_iter_ != iter_) {
    BANYAN_RETURN_IF_ERROR(Snapshot().WithContext("snapshot on stop request"));
  }
  return Status::Cancelled(at + "; resume with --snapshot=" + prefix + "_iter_" +
                           std::to_string(iter_) + ".solverstate");
}

std::string Solver::SnapshotPrefix() const {
  if (!config_.snapshot_prefix.empty()) return config_.snapshot_prefix;
  const std::string& f = config_.source_file;
  const size_t dot = f.find_last_of('.');
  const size_t slash = f.find_last_of('/');
  const bool has_extension =
      dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return has_extension ? f.substr(0, dot) : f;
}

Status Solver::Snapshot(std::string* weights_path) {
  const std::string prefix = SnapshotPrefix();
  if (prefix.empty()) return Invalid(config_, "cannot snapshot: snapshot_prefix is empty");
  const std::string base = prefix + "_iter_" + std::to_string(iter_);
  const std::string weights = base + ".banyan", state = base + ".solverstate";
  BANYAN_RETURN_IF_ERROR(WriteWeights(weights, *train_net_));
  std::vector<std::vector<ArrayRef>> hist(HistorySlots(config_.type));
  for (size_t s = 0; s < hist.size(); ++s) {
    for (const NetParam* p : updated_) {
      hist[s].push_back({p->name, p->blob->shape(), history(static_cast<int>(s)) + p->offset});
    }
  }
  SolverStateHeader header;
  header.iteration = iter_;
  header.type = config_.type;
  header.weights_file = BaseName(weights);
  BANYAN_RETURN_IF_ERROR(WriteSolverState(state, header, hist));
  LOG(INFO) << "Snapshot at iteration " << iter_ << ": " << weights << ", " << state;
  last_snapshot_iter_ = iter_;
  if (weights_path != nullptr) *weights_path = weights;
  return Status::Ok();
}

Status Solver::MatchHistory(const std::string& path,
                            const std::vector<std::vector<NamedArray>>& history,
                            std::vector<std::vector<const NamedArray*>>* matched) const {
  matched->assign(history.size(), {});
  for (size_t s = 0; s < history.size(); ++s) {
    if (history[s].size() != updated_.size()) {
      return Status::InvalidArgument("'" + path + "' has history for " +
                                     std::to_string(history[s].size()) + " parameters but net '" +
                                     train_net_->name() + "' updates " +
                                     std::to_string(updated_.size()));
    }
    for (const NetParam* p : updated_) {
      const NamedArray* found = nullptr;
      for (const NamedArray& a : history[s]) found = a.name == p->name ? &a : found;
      if (found == nullptr || found->shape != p->blob->shape()) {
        return Status::InvalidArgument("'" + path + "' has no history of shape " +
                                       p->blob->shape().ToString() + " for parameter '" + p->name +
                                       "' (was it written for another net?)");
      }
      (*matched)[s].push_back(found);
    }
  }
  return Status::Ok();
}

Status Solver::Restore(const std::string& path) {
  SolverStateHeader header;
  std::vector<std::vector<NamedArray>> hist;
  BANYAN_RETURN_IF_ERROR(ReadSolverState(path, &header, &hist));
  if (header.type != config_.type) {
    return Status::InvalidArgument(
        "'" + path + "' holds the state of a " + SolverTypeName(header.type) + " solver but " +
        SolverFile(config_) + " asks for type " + SolverTypeName(config_.type));
  }
  if (static_cast<int>(hist.size()) != HistorySlots(config_.type)) {
    return Status::DataLoss("'" + path + "': " + std::to_string(hist.size()) +
                            " history slots, expected " +
                            std::to_string(HistorySlots(config_.type)));
  }
  // Match every history array to an updated parameter before changing anything.
  std::vector<std::vector<const NamedArray*>> matched;
  BANYAN_RETURN_IF_ERROR(MatchHistory(path, hist, &matched));
  const std::string weights = ResolvePairedWeights(path, header.weights_file);
  WeightsLoadReport report;
  BANYAN_RETURN_IF_ERROR(LoadWeightsInto(weights, train_net_.get(), &report)
                             .WithContext("resuming from '" + path + "'"));
  if (!report.missing.empty()) {
    std::string list;
    for (const std::string& n : report.missing) list += (list.empty() ? "" : ", ") + n;
    return Status::InvalidArgument("resuming from '" + path + "': weights file '" + weights +
                                   "' lacks parameters of the net: " + list);
  }
  for (size_t s = 0; s < matched.size(); ++s) {
    for (size_t i = 0; i < updated_.size(); ++i) {
      const NamedArray& a = *matched[s][i];
      std::memcpy(history(static_cast<int>(s)) + updated_[i]->offset, a.data.data(),
                  a.data.size() * sizeof(float));
    }
  }
  iter_ = header.iteration;
  last_snapshot_iter_ = iter_;
  losses_.clear();
  LOG(INFO) << "Resumed from '" << path << "' at iteration " << iter_;
  return Status::Ok();
}

Status Solver::LoadWeights(const std::string& paths) {
  size_t start = 0;
  while (start <= paths.size()) {
    size_t comma = paths.find(',', start);
    if (comma == std::string::npos) comma = paths.size();
    const std::string path = paths.substr(start, comma - start);
    if (path.empty()) {
      return Status::InvalidArgument("weights list '" + paths + "' has an empty entry");
    }
    BANYAN_RETURN_IF_ERROR(LoadWeightsInto(path, train_net_.get()));
    start = comma + 1;
  }
  return Status::Ok();
}

}  // namespace banyan
