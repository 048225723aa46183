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

#include "engine/device_update.h"
#include "engine/evaluate.h"
#include "engine/lr_policy.h"
#include "engine/weights_file.h"

namespace banyan {
namespace {

double now_seconds() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

std::string solver_file(const SolverConfig& c) {
  return c.source_file.empty() ? std::string("solver") : c.source_file;
}

Status invalid(const SolverConfig& c, const std::string& message) {
  return Status::invalid_argument(solver_file(c) + ": " + message);
}

// The fields the solver itself reads (the policy and update rule validate theirs).
Status validate_solver_fields(const SolverConfig& c) {
  if (c.max_iter < 0) return invalid(c, "max_iter must be >= 0, got " + std::to_string(c.max_iter));
  for (size_t i = 0; i < c.test_iter.size(); ++i) {
    if (c.test_iter[i] <= 0) {
      return invalid(c, "test_iter entry " + std::to_string(i) + " must be > 0, got " +
                            std::to_string(c.test_iter[i]));
    }
  }
  const std::pair<const char*, int> non_negative[] = {
      {"test_interval", c.test_interval}, {"display", c.display}, {"snapshot", c.snapshot}};
  for (const auto& [name, value] : non_negative) {
    if (value < 0) {
      return invalid(c, std::string(name) + " must be >= 0, got " + std::to_string(value));
    }
  }
  if (c.average_loss < 1) {
    return invalid(c, "average_loss must be >= 1, got " + std::to_string(c.average_loss));
  }
  if (c.precision != SolverConfig::Precision::kFloat32) {
    return Status::unimplemented(solver_file(c) +
                                 ": precision BF16 needs the GPU backend; use FP32 on the CPU");
  }
  return Status::success();
}

// The directory part of a snapshot prefix ("." when it has none).
std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Display only (copies device outputs to the host).
double mean_of(const Blob& b) {
  std::vector<float> host;
  Status st = blob_to_host(b, false, &host);
  CHECK(st.ok()) << st.message();
  double s = 0.0;
  for (float v : host) s += v;
  return b.count() > 0 ? s / b.count() : 0.0;
}

}  // namespace

Solver::Solver(const SolverConfig& config, const SolverOptions& options)
    : config_(config), options_(options) {}

Solver::~Solver() = default;

Status Solver::create(const SolverConfig& config, const NetConfig& net,
                      const SolverOptions& options, std::unique_ptr<Solver>* out) {
  if (!options.device.is_cpu()) {
    return Status::unimplemented("device " + options.device.to_string() +
                                 ": the solver runs on the CPU only in this version; use "
                                 "--devices=cpu");
  }
  BANYAN_RETURN_IF_ERROR(validate_solver_fields(config));
  BANYAN_RETURN_IF_ERROR(validate_lr_policy(config));
  BANYAN_RETURN_IF_ERROR(validate_update_config(config));
  std::unique_ptr<Solver> solver(new Solver(config, options));
  BANYAN_RETURN_IF_ERROR(solver->init(net));
  *out = std::move(solver);
  return Status::success();
}

Status Solver::init(const NetConfig& net) {
  if (config_.snapshot > 0 || config_.snapshot_after_train) {
    const std::string prefix = snapshot_prefix();
    if (prefix.empty()) {
      return invalid(config_,
                     "snapshots are enabled (snapshot / snapshot_after_train) but "
                     "snapshot_prefix is empty");
    }
    const std::string dir = directory_of(prefix);
    if (::access(dir.c_str(), W_OK) != 0) {
      return Status::not_found(solver_file(config_) + ": snapshot_prefix '" + prefix +
                               "': directory '" + dir + "' is missing or not writable (" +
                               std::strerror(errno) + ")");
    }
  }
  const uint64_t seed =
      config_.random_seed < 0 ? kDefaultSolverSeed : static_cast<uint64_t>(config_.random_seed);
  ctx_ = std::make_unique<WorkerContext>(options_.device, seed);
  BANYAN_RETURN_IF_ERROR(ctx_->init_device(options_.gpu));
  NetBuildOptions train_options;
  train_options.phase = Phase::kTrain;
  BANYAN_RETURN_IF_ERROR(Net::create(net, train_options, ctx_.get(), &train_net_));
  for (size_t i = 0; i < config_.test_iter.size(); ++i) {
    NetBuildOptions test_options;
    test_options.phase = Phase::kTest;
    test_options.share_params_from = train_net_.get();
    std::unique_ptr<Net> test_net;
    BANYAN_RETURN_IF_ERROR(Net::create(net, test_options, ctx_.get(), &test_net));
    test_nets_.push_back(std::move(test_net));
  }
  if (config_.test_interval > 0 && test_nets_.empty()) {
    LOG(WARNING) << solver_file(config_) << ": test_interval is set but there is no test_iter; "
                 << "no test passes will run";
  }
  for (const NetParam& p : train_net_->params()) {
    if (p.learnable && p.lr_mult != 0.0f) updated_.push_back(&p);
  }
  spans_ = update_spans_for(train_net_->params());
  const size_t floats =
      history_slots(config_.type) * static_cast<size_t>(train_net_->param_count());
  BANYAN_RETURN_IF_ERROR(Buffer::allocate(options_.device, floats * sizeof(float), &history_)
                             .with_context("solver history"));
  if (options_.device.is_cuda()) {
    BANYAN_RETURN_IF_ERROR(DeviceUpdater::create(*ctx_, spans_, &device_updater_));
  }
  if (!options_.metrics_path.empty()) {
    BANYAN_RETURN_IF_ERROR(MetricsWriter::open(options_.metrics_path, &metrics_));
  }
  const WorkerPlacement& place = ctx_->placement();
  LOG(INFO) << "Solver " << solver_type_name(config_.type) << " on " << options_.device.to_string()
            << ", seed " << seed << ", global batch " << place.num_groups << " x "
            << train_net_->batch_size() << " x iter_size " << config_.iter_size << " = "
            << place.num_groups * train_net_->batch_size() * config_.iter_size << ", "
            << spans_.size() << " of " << train_net_->params().size() << " parameters updated, "
            << test_nets_.size() << " test net(s)";
  return Status::success();
}

float* Solver::history(int slot) const {
  if (slot >= history_slots(config_.type)) return nullptr;
  return static_cast<float*>(history_.data()) + slot * train_net_->param_count();
}

float Solver::smoothed_loss() const {
  double s = 0.0;
  for (float l : losses_) s += l;
  return losses_.empty() ? 0.0f : static_cast<float>(s / losses_.size());
}

Status Solver::step(int iterations) {
  if (iterations < 0) {
    return Status::invalid_argument("Step needs a non-negative iteration count, got " +
                                    std::to_string(iterations));
  }
  for (int i = 0; i < iterations; ++i) BANYAN_RETURN_IF_ERROR(train_iteration());
  return Status::success();
}

Status Solver::train_iteration() {
  const double t0 = now_seconds();
  if (!started_) {
    started_ = true;
    start_seconds_ = t0;
  }
  Net& net = *train_net_;
  const WorkerPlacement& place = ctx_->placement();
  net.clear_param_diffs();
  double loss = 0.0;
  for (int k = 0; k < config_.iter_size; ++k) {
    StepInfo& step = ctx_->step();
    step.phase = Phase::kTrain;
    step.iteration = iter_ * config_.iter_size + k;
    step.sample_base = (step.iteration * place.num_groups + place.group_index) * net.batch_size();
    loss += net.forward();
    net.backward();
  }
  loss /= config_.iter_size;
  const float lr = learning_rate(config_, iter_);
  if (device_updater_ != nullptr) {
    device_updater_->step(make_update_rule(config_, lr, iter_), config_.iter_size,
                          config_.clip_gradients, net.param_data(), net.param_diff(), history(0),
                          history(1));
  } else {
    if (config_.iter_size > 1) scale_diffs(spans_, 1.0f / config_.iter_size, net.param_diff());
    clip_gradients(spans_, config_.clip_gradients, net.param_diff());
    apply_updates(make_update_rule(config_, lr, iter_), spans_, net.param_data(), net.param_diff(),
                  history(0), history(1));
  }
  losses_.push_back(static_cast<float>(loss));
  while (static_cast<int>(losses_.size()) > config_.average_loss) losses_.pop_front();
  train_seconds_since_display_ += now_seconds() - t0;
  ++iters_since_display_;
  if (config_.display > 0 && iter_ % config_.display == 0) BANYAN_RETURN_IF_ERROR(display(lr));
  ++iter_;
  return Status::success();
}

Status Solver::display(float lr) {
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
  std::string log_line = line;
  for (int i = 0; i < train_net_->num_layers(); ++i) {
    const std::string status = train_net_->layer(i).status_line();
    if (!status.empty()) log_line += " | " + status;
  }
  LOG(INFO) << log_line;
  const auto& outputs = train_net_->outputs();
  for (size_t o = 0; o < outputs.size(); ++o) {
    LOG(INFO) << "    Train net output #" << o << ": " << outputs[o].name << " = "
              << mean_of(*outputs[o].blob);
  }
  LOG(INFO) << "    lr = " << lr;
  train_seconds_since_display_ = 0.0;
  iters_since_display_ = 0;
  if (!metrics_.is_open()) return Status::success();
  MetricsLine m;
  m.iter = iter_;
  m.phase = "train";
  m.values = {{"loss", loss},
              {"lr", lr},
              {"images_per_s", images_per_s},
              {"elapsed_s", now_seconds() - start_seconds_}};
  return metrics_.write(m);
}

Status Solver::test_all(TestResults* results) {
  if (results != nullptr) results->clear();
  for (size_t i = 0; i < test_nets_.size(); ++i) {
    LOG(INFO) << "Iteration " << iter_ << ", Testing net (#" << i << ")";
    std::vector<std::pair<std::string, float>> means;
    BANYAN_RETURN_IF_ERROR(evaluate_net(*test_nets_[i], config_.test_iter[i], &means));
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
    if (metrics_.is_open()) BANYAN_RETURN_IF_ERROR(metrics_.write(m));
    if (results != nullptr) results->push_back(std::move(means));
  }
  return Status::success();
}

bool Solver::test_due() const {
  return config_.test_interval > 0 && !test_nets_.empty() && iter_ % config_.test_interval == 0 &&
         (iter_ > 0 || config_.test_initialization);
}

Status Solver::solve() {
  LOG(INFO) << "Solving " << train_net_->name() << " from iteration " << iter_ << " to "
            << config_.max_iter;
  while (iter_ < config_.max_iter) {
    if (options_.stop_requested != nullptr && options_.stop_requested->load()) {
      return stop_with_snapshot();
    }
    if (test_due()) BANYAN_RETURN_IF_ERROR(test_all());
    BANYAN_RETURN_IF_ERROR(train_iteration());
    if (config_.snapshot > 0 && iter_ % config_.snapshot == 0) BANYAN_RETURN_IF_ERROR(snapshot());
  }
  if (config_.snapshot_after_train && last_snapshot_iter_ != iter_) {
    BANYAN_RETURN_IF_ERROR(snapshot());
  }
  if (config_.test_interval > 0 && !test_nets_.empty() && iter_ % config_.test_interval == 0) {
    BANYAN_RETURN_IF_ERROR(test_all());
  }
  LOG(INFO) << "Optimization done at iteration " << iter_;
  return Status::success();
}

Status Solver::stop_with_snapshot() {
  const std::string at = "stop requested at iteration " + std::to_string(iter_);
  const std::string prefix = snapshot_prefix();
  if (prefix.empty()) {
    return Status::cancelled(at + "; no snapshot written (snapshot_prefix is empty)");
  }
  if (last_snapshot_iter_ != iter_) {
    BANYAN_RETURN_IF_ERROR(snapshot().with_context("snapshot on stop request"));
  }
  return Status::cancelled(at + "; resume with --snapshot=" + prefix + "_iter_" +
                           std::to_string(iter_) + ".solverstate");
}

std::string Solver::snapshot_prefix() const {
  if (!config_.snapshot_prefix.empty()) return config_.snapshot_prefix;
  const std::string& f = config_.source_file;
  const size_t dot = f.find_last_of('.');
  const size_t slash = f.find_last_of('/');
  const bool has_extension =
      dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return has_extension ? f.substr(0, dot) : f;
}

Status Solver::snapshot(std::string* weights_path) {
  const std::string prefix = snapshot_prefix();
  if (prefix.empty()) return invalid(config_, "cannot snapshot: snapshot_prefix is empty");
  const std::string base = prefix + "_iter_" + std::to_string(iter_);
  const std::string weights = base + ".banyan", state = base + ".solverstate";
  BANYAN_RETURN_IF_ERROR(write_weights(weights, *train_net_));
  std::vector<std::vector<ArrayRef>> hist(history_slots(config_.type));
  std::vector<float> staged;  // the history in host memory, for CUDA workers
  const float* values = history(0);
  if (!options_.device.is_cpu()) {
    staged.resize(history_.bytes() / sizeof(float));
    BANYAN_RETURN_IF_ERROR(copy_to_host(history(0), static_cast<int64_t>(staged.size()),
                                        options_.device, staged.data()));
    values = staged.data();
  }
  for (size_t s = 0; s < hist.size(); ++s) {
    const float* slot = values + s * train_net_->param_count();
    for (const NetParam* p : updated_) {
      hist[s].push_back({p->name, p->blob->shape(), slot + p->offset});
    }
  }
  SolverStateHeader header;
  header.iteration = iter_;
  header.type = config_.type;
  header.weights_file = base_name(weights);
  BANYAN_RETURN_IF_ERROR(write_solver_state(state, header, hist));
  LOG(INFO) << "Snapshot at iteration " << iter_ << ": " << weights << ", " << state;
  last_snapshot_iter_ = iter_;
  if (weights_path != nullptr) *weights_path = weights;
  return Status::success();
}

Status Solver::match_history(const std::string& path,
                             const std::vector<std::vector<NamedArray>>& history,
                             std::vector<std::vector<const NamedArray*>>* matched) const {
  matched->assign(history.size(), {});
  for (size_t s = 0; s < history.size(); ++s) {
    if (history[s].size() != updated_.size()) {
      return Status::invalid_argument("'" + path + "' has history for " +
                                      std::to_string(history[s].size()) + " parameters but net '" +
                                      train_net_->name() + "' updates " +
                                      std::to_string(updated_.size()));
    }
    for (const NetParam* p : updated_) {
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
  std::vector<std::vector<const NamedArray*>> matched;
  BANYAN_RETURN_IF_ERROR(match_history(path, hist, &matched));
  const std::string weights = resolve_paired_weights(path, header.weights_file);
  WeightsLoadReport report;
  BANYAN_RETURN_IF_ERROR(load_weights_into(weights, train_net_.get(), &report)
                             .with_context("resuming from '" + path + "'"));
  if (!report.missing.empty()) {
    std::string list;
    for (const std::string& n : report.missing) list += (list.empty() ? "" : ", ") + n;
    return Status::invalid_argument("resuming from '" + path + "': weights file '" + weights +
                                    "' lacks parameters of the net: " + list);
  }
  for (size_t s = 0; s < matched.size(); ++s) {
    for (size_t i = 0; i < updated_.size(); ++i) {
      const NamedArray& a = *matched[s][i];
      BANYAN_RETURN_IF_ERROR(copy_to_device(a.data.data(), static_cast<int64_t>(a.data.size()),
                                            options_.device,
                                            history(static_cast<int>(s)) + updated_[i]->offset));
    }
  }
  iter_ = header.iteration;
  last_snapshot_iter_ = iter_;
  losses_.clear();
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
    BANYAN_RETURN_IF_ERROR(load_weights_into(path, train_net_.get()));
    start = comma + 1;
  }
  return Status::success();
}

}  // namespace banyan
