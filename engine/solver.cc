// Solver: construction and validation, the training iteration on every
// worker (forward/backward, the exchange, the update), test passes sharded
// over the groups, display and metrics.  Gradients are averaged over
// iter_size x groups before clipping, so clip_gradients means the same
// whatever the batch is split into.  Snapshots: solver_snapshot.cc; keeping
// the replicas the same: solver_replicas.cc.
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
#include <thread>

#ifdef BANYAN_WITH_CUDA
#include "engine/core/gpu_resources.h"
#endif
#include "engine/bucketed_exchange.h"
#include "engine/core/math.h"
#include "engine/evaluate.h"
#include "engine/exchange/wire.h"
#include "engine/lr_policy.h"
#include "engine/solver_worker.h"

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
  if (c.iter_size < 1) {
    return invalid(c, "iter_size must be >= 1, got " + std::to_string(c.iter_size));
  }
  if (c.average_loss < 1) {
    return invalid(c, "average_loss must be >= 1, got " + std::to_string(c.average_loss));
  }
  return Status::success();
}

// The directory part of a snapshot prefix ("." when it has none).
std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
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

// FNV-1a over the bytes of n floats (host memory).
uint64_t checksum_of(const float* values, int64_t n) {
  uint64_t h = 1469598103934665603ull;
  const unsigned char* bytes = reinterpret_cast<const unsigned char*>(values);
  for (int64_t i = 0; i < n * static_cast<int64_t>(sizeof(float)); ++i) {
    h = (h ^ bytes[i]) * 1099511628211ull;
  }
  return h;
}

std::string mib(size_t bytes) {
  char s[32];
  std::snprintf(s, sizeof(s), "%.2f MiB", bytes / 1048576.0);
  return s;
}

}  // namespace

Solver::Solver(const SolverConfig& config, const SolverOptions& options)
    : config_(config), options_(options) {}

Solver::~Solver() {
  // A GPU may still be reading another's buffers (the last step's peer
  // copies): let every device finish before the nets are freed.
  if (workers_ != nullptr) workers_->synchronize_devices();
}

Net& Solver::train_net(int worker) { return *states_[worker]->train_net; }

const std::vector<std::unique_ptr<Net>>& Solver::test_nets(int worker) {
  return states_[worker]->test_nets;
}

Status Solver::create(const SolverConfig& config, const NetConfig& net,
                      const SolverOptions& options, std::unique_ptr<Solver>* out) {
  SolverOptions o = options;
  if (o.devices.empty()) o.devices = {o.device};
  BANYAN_RETURN_IF_ERROR(validate_worker_layout(o.devices, o.group_size));
  BANYAN_RETURN_IF_ERROR(validate_solver_fields(config));
  BANYAN_RETURN_IF_ERROR(validate_lr_policy(config));
  BANYAN_RETURN_IF_ERROR(validate_update_config(config));
  if (o.nan_policy == SolverOptions::NanPolicy::kSkipStep) {
    if (o.devices[0].is_cuda()) {
      return Status::unimplemented(
          "nan_policy skip_step needs CPU workers: CUDA workers see a non-finite loss a few "
          "iterations late (checking every step would synchronise it) and always stop");
    }
    if (o.nan_skip_limit < 1) {
      return Status::invalid_argument("nan_skip_limit must be >= 1, got " +
                                      std::to_string(o.nan_skip_limit));
    }
  }
  std::unique_ptr<Solver> solver(new Solver(config, o));
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
  WorkersOptions wo;
  wo.devices = options_.devices;
  wo.group_size = options_.group_size;
  wo.seed = seed;
  wo.gpu = options_.gpu;
  wo.cpu = options_.cpu;
  wo.exchange = options_.exchange;
  wo.cluster = options_.cluster;
  wo.exchange_precision = config_.exchange_precision;
  if (options_.cluster != nullptr && options_.cluster->size() > 1) {
    BANYAN_RETURN_IF_ERROR(options_.cluster->communicator(&process_comm_));
  }
  BANYAN_RETURN_IF_ERROR(Workers::create(wo, &workers_));
  for (int w = 0; w < workers_->size(); ++w) states_.push_back(std::make_unique<WorkerState>());
  // Every group's Data layers decode at the same time: by default they share
  // the cores instead of each starting one thread per core.
  NetConfig per_worker = net;
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  for (LayerConfig& l : per_worker.layers) {
    if (l.type == "Data" && l.data.decode_threads == 0) {
      l.data.decode_threads = std::max(1, cores / num_groups());
    }
  }
  BANYAN_RETURN_IF_ERROR(workers_->run([&](int w) { return init_worker(w, per_worker); }));
  group_updaters_.resize(num_groups());
  for (int g = 0; g < num_groups(); ++g) {
    for (int k = 0; k < workers_->group_size(); ++k) {
      group_updaters_[g].push_back(states_[workers_->worker_index(g, k)]->device_updater.get());
    }
  }
  // A group's batch: the Data/Input layers may sit on any of its partitions.
  test_batches_.assign(config_.test_iter.size(), 0);
  for (const auto& st : states_) {
    batch_ = std::max(batch_, st->train_net->batch_size());
    for (size_t i = 0; i < st->test_nets.size(); ++i) {
      test_batches_[i] = std::max(test_batches_[i], st->test_nets[i]->batch_size());
    }
  }
  if (config_.test_interval > 0 && config_.test_iter.empty()) {
    LOG(WARNING) << solver_file(config_) << ": test_interval is set but there is no test_iter; "
                 << "no test passes will run";
  }
  if (!options_.metrics_path.empty() && lead()) {
    BANYAN_RETURN_IF_ERROR(MetricsWriter::open(options_.metrics_path, &metrics_));
  }
  log_layout(seed);
  return Status::success();
}

Status Solver::init_worker(int w, const NetConfig& net) {
  WorkerContext& ctx = workers_->ctx(w);
  WorkerState& st = *states_[w];
  TransferHub* hub = &workers_->hub(ctx.placement().local_group_index);
  NetBuildOptions train_options;
  train_options.phase = Phase::kTrain;
  train_options.transfers = hub;
  train_options.transfer_scope = "train";
  train_options.data_setup_mutex = workers_->data_setup_mutex();
  // One loss slot per pass of every iteration whose losses are in flight.
  train_options.loss_slots = (kLossLag + 1) * config_.iter_size;
  train_options.precision = activation_dtype();
  train_options.state = config_.train_state;
  BANYAN_RETURN_IF_ERROR(Net::create(net, train_options, &ctx, &st.train_net));
  for (size_t i = 0; i < config_.test_iter.size(); ++i) {
    NetBuildOptions test_options;
    test_options.phase = Phase::kTest;
    test_options.share_params_from = st.train_net.get();
    test_options.transfers = hub;
    test_options.transfer_scope = "test" + std::to_string(i);
    test_options.data_setup_mutex = workers_->data_setup_mutex();
    test_options.precision = activation_dtype();
    if (i < config_.test_state.size()) test_options.state = config_.test_state[i];
    std::unique_ptr<Net> test_net;
    BANYAN_RETURN_IF_ERROR(Net::create(net, test_options, &ctx, &test_net));
    st.test_nets.push_back(std::move(test_net));
  }
  for (const NetParam& p : st.train_net->params()) {
    if (p.learnable && p.lr_mult != 0.0f) st.updated.push_back(&p);
  }
  st.spans = update_spans_for(st.train_net->params());
  const size_t floats =
      history_slots(config_.type) * static_cast<size_t>(st.train_net->param_count());
  BANYAN_RETURN_IF_ERROR(Buffer::allocate(ctx.device(), floats * sizeof(float), &st.history)
                             .with_context("solver history"));
  if (ctx.device().is_cuda()) {
    BANYAN_RETURN_IF_ERROR(DeviceUpdater::create(ctx, st.spans, &st.device_updater));
  }
  if (AllReduce* exchange = workers_->exchange(ctx.placement().rank_in_group)) {
    st.exchange = std::make_unique<BucketedExchange>(st.train_net.get(), exchange,
                                                     ctx.placement().local_group_index,
                                                     options_.exchange_bucket_bytes, &ctx);
  }
  return Status::success();
}

void Solver::log_layout(uint64_t seed) const {
  size_t params = 0, updated = 0;
  for (int k = 0; k < workers_->group_size(); ++k) {
    params += states_[k]->train_net->params().size();
    updated += states_[k]->spans.size();
  }
  const std::string nodes =
      workers_->processes() > 1 ? std::to_string(workers_->processes()) + " nodes x " : "";
  LOG(INFO) << "Solver " << solver_type_name(config_.type) << " on " << nodes << workers_->size()
            << " worker(s) in " << num_groups() << " group(s) of " << workers_->group_size() << " ("
            << nodes << num_groups() << " groups x " << workers_->group_size()
            << " partitions), seed " << seed << ", global batch = " << global_groups() << " x "
            << batch_ << " x iter_size " << config_.iter_size << " = "
            << global_groups() * batch_ * config_.iter_size << ", " << updated << " of " << params
            << " parameters updated, " << config_.test_iter.size() << " test net(s)";
  if (workers_->processes() > 1) {
    LOG(INFO) << "gradients between processes: " << wire_precision_name(config_.exchange_precision)
              << (config_.exchange_precision == WirePrecision::kFloat32
                      ? ""
                      : " (rounded before sending and after every addition; FP32 inside a "
                        "process)");
  }
  for (int w = 0; w < workers_->size(); ++w) {
    const Net& net = *states_[w]->train_net;
    size_t test_bytes = 0;
    for (const auto& t : states_[w]->test_nets) test_bytes += t->activation_bytes();
    LOG(INFO) << "    " << workers_->describe(w) << ": " << net.num_layers() << " layers, "
              << "activations " << mib(net.activation_bytes()) << " (test nets " << mib(test_bytes)
              << "), parameters + gradients " << mib(net.param_bytes())
              << (net.shadow_bytes() > 0 ? ", BF16 shadows " + mib(net.shadow_bytes()) : "");
  }
}

DType Solver::activation_dtype() const {
  return config_.precision == SolverConfig::Precision::kBFloat16 ? DType::kBFloat16
                                                                 : DType::kFloat32;
}

float* Solver::history(int w, int slot) const {
  if (slot >= history_slots(config_.type)) return nullptr;
  return static_cast<float*>(states_[w]->history.data()) +
         slot * states_[w]->train_net->param_count();
}

float Solver::smoothed_loss() const {
  double s = 0.0;
  for (float l : losses_) s += l;
  return losses_.empty() ? 0.0f : static_cast<float>(s / losses_.size());
}

Status Solver::sum_over_processes(double* values, size_t n) {
  if (process_comm_ == nullptr) return Status::success();
  return process_comm_->sum(values, n).with_context("sum over the processes");
}

Status Solver::step(int iterations) {
  if (iterations < 0) {
    return Status::invalid_argument("Step needs a non-negative iteration count, got " +
                                    std::to_string(iterations));
  }
  for (int i = 0; i < iterations; ++i) BANYAN_RETURN_IF_ERROR(train_iteration());
  return resolve_losses(iter_);
}

Status Solver::train_iteration() {
  const double t0 = now_seconds();
  if (!started_) {
    started_ = true;
    start_seconds_ = t0;
  }
  const float lr = learning_rate(config_, iter_);
  if (workers_->ctx(0).device().is_cuda()) {
    BANYAN_RETURN_IF_ERROR(workers_->run([&](int w) { return train_worker(w, lr); }));
  } else {
    // CPU workers: every step is checked before its update (nan_policy).
    BANYAN_RETURN_IF_ERROR(workers_->run([&](int w) { return compute_gradients(w, true); }));
    double bad = 0.0;
    for (const auto& st : states_) bad += st->nonfinite ? 1.0 : 0.0;
    BANYAN_RETURN_IF_ERROR(sum_over_processes(&bad, 1));  // every process decides alike
    if (bad > 0.0) {
      BANYAN_RETURN_IF_ERROR(handle_nonfinite());
    } else {
      skipped_in_row_ = 0;
      BANYAN_RETURN_IF_ERROR(workers_->run([&](int w) { return update_worker(w, lr); }));
    }
  }
  if (options_.check_replicas) BANYAN_RETURN_IF_ERROR(check_replicas());
  if (unresolved_from_ < 0) unresolved_from_ = iter_;
  // The loss of iteration iter_ - lag is certainly computed by now: reading
  // it waits for nothing in the steady state.  A display reads them all.
  const bool show = config_.display > 0 && iter_ % config_.display == 0;
  BANYAN_RETURN_IF_ERROR(resolve_losses(iter_ + 1 - (show ? 0 : kLossLag)));
  train_seconds_since_display_ += now_seconds() - t0;
  ++iters_since_display_;
  if (show) BANYAN_RETURN_IF_ERROR(display(lr));
  ++iter_;
  return Status::success();
}

int Solver::loss_slot(int64_t iteration, int pass) const {
  return static_cast<int>(iteration % (kLossLag + 1)) * config_.iter_size + pass;
}

Status Solver::resolve_losses(int64_t end) {
  for (; unresolved_from_ >= 0 && unresolved_from_ < end; ++unresolved_from_) {
    // Each group's loss is the sum of its partitions' (mean over the passes);
    // the global loss (a mean over the global batch) is the mean over the groups.
    double loss = 0.0;
    for (const auto& st : states_) {
      double worker = 0.0;
      for (int k = 0; k < config_.iter_size; ++k) {
        worker += st->train_net->deferred_loss(loss_slot(unresolved_from_, k));
      }
      loss += worker / config_.iter_size;
    }
    BANYAN_RETURN_IF_ERROR(sum_over_processes(&loss, 1));
    loss /= global_groups();
    if (skipped_iters_.erase(unresolved_from_) > 0) continue;  // its update was skipped
    if (!std::isfinite(loss)) {
      return Status::internal("the loss is " + std::to_string(loss) + " at iteration " +
                              std::to_string(unresolved_from_) +
                              " (diverged or bad input); training stopped, " +
                              last_good_snapshot());
    }
    losses_.push_back(static_cast<float>(loss));
    while (static_cast<int>(losses_.size()) > config_.average_loss) losses_.pop_front();
  }
  return Status::success();
}

// One worker's iteration: forward/backward passes, the exchange with the
// workers of the same rank, the update.
Status Solver::train_worker(int w, float lr) {
  BANYAN_RETURN_IF_ERROR(compute_gradients(w, false));
  return update_worker(w, lr);
}

Status Solver::compute_gradients(int w, bool check) {
  WorkerContext& ctx = workers_->ctx(w);
  const WorkerPlacement& place = ctx.placement();
  const TransferHub& hub = workers_->hub(place.local_group_index);
  WorkerState& st = *states_[w];
  Net& net = *st.train_net;
  net.clear_param_diffs();
  bool finite_losses = true;
  for (int k = 0; k < config_.iter_size; ++k) {
    StepInfo& step = ctx.step();
    step.phase = Phase::kTrain;
    step.iteration = iter_ * config_.iter_size + k;
    step.sample_base = (step.iteration * place.num_groups + place.group_index) * batch_;
    net.forward_deferred(loss_slot(iter_, k));
    BANYAN_RETURN_IF_ERROR(ctx.take_error());
    if (hub.aborted()) return Status::aborted("stopped: " + hub.reason());
    if (check)
      finite_losses = finite_losses && std::isfinite(net.deferred_loss(loss_slot(iter_, k)));
    if (st.exchange != nullptr && k + 1 == config_.iter_size) {
      // The last pass: each bucket of final gradients goes out as soon as
      // backward has passed it.
      st.exchange->start();
      net.backward([&](int layer) { st.exchange->layer_done(layer); });
    } else {
      net.backward();
    }
    if (hub.aborted()) return Status::aborted("stopped: " + hub.reason());
  }
  if (st.exchange != nullptr) {
    BANYAN_RETURN_IF_ERROR(st.exchange->finish().with_context("gradient exchange"));
  }
  if (!check) return Status::success();
  // The exchange gave every group the same gradients; the partitions of a
  // group agree here, so a whole replica skips or updates together.
  use_cpu_threads(ctx.cpu().threads);
  double bad = finite_losses && cpu_all_finite(net.param_count(), net.param_diff()) ? 0.0 : 1.0;
  if (place.group_size > 1) BANYAN_RETURN_IF_ERROR(workers_->group_sum(w, &bad));
  st.nonfinite = bad > 0.0;
  return Status::success();
}

Status Solver::update_worker(int w, float lr) {
  WorkerContext& ctx = workers_->ctx(w);
  const WorkerPlacement& place = ctx.placement();
  WorkerState& st = *states_[w];
  Net& net = *st.train_net;
  // G groups of batch B each normalised their loss by B: the sum over the
  // groups divided by G is the gradient of one worker with batch G x B.
  const int divisor = config_.iter_size * place.num_groups;
  const UpdateRule rule = make_update_rule(config_, lr, iter_);
  if (st.device_updater != nullptr && place.group_size > 1 && config_.clip_gradients > 0.0f) {
    // The norm spans the partitions: every rank's sum of squares, on the device.
    const std::vector<DeviceUpdater*>& group = group_updaters_[place.local_group_index];
    st.device_updater->begin_step(divisor, net.param_diff(), group);
    double barrier = 0.0;
    BANYAN_RETURN_IF_ERROR(workers_->group_sum(w, &barrier));
    st.device_updater->finish_step(rule, config_.clip_gradients, group, net.param_data(),
                                   net.param_diff(), history(w, 0), history(w, 1));
  } else if (st.device_updater != nullptr) {
    st.device_updater->step(rule, divisor, config_.clip_gradients, net.param_data(),
                            net.param_diff(), history(w, 0), history(w, 1));
  } else {
    use_cpu_threads(workers_->ctx(w).cpu().threads);
    if (divisor > 1) scale_diffs(st.spans, 1.0f / divisor, net.param_diff());
    if (place.group_size == 1) {
      clip_gradients(st.spans, config_.clip_gradients, net.param_diff());
    } else {
      BANYAN_RETURN_IF_ERROR(clip_across_partitions(w));
    }
    apply_updates(rule, st.spans, net.param_data(), net.param_diff(), history(w, 0), history(w, 1));
  }
  net.refresh_compute_params();  // bfloat16: the compute copies follow the masters
  if (!options_.check_replicas || place.num_groups == 1) return Status::success();
  std::vector<float> host(static_cast<size_t>(net.param_count()));
  BANYAN_RETURN_IF_ERROR(
      copy_to_host(net.param_data(), net.param_count(), ctx.device(), host.data()));
  // The updated parameters: BatchNorm's running statistics are each
  // replica's own (from its slice of the batch) until the next test pass or
  // snapshot averages them (average_running_statistics).
  uint64_t h = 1469598103934665603ull;
  for (const UpdateSpan& sp : st.spans) h = h * 31 + checksum_of(host.data() + sp.offset, sp.count);
  st.checksum = h;
  return Status::success();
}

// clip_gradients when the replica is split: the squared norms of the
// partitions are summed across the group, so every partition scales by the
// factor one worker would use.
Status Solver::clip_across_partitions(int w) {
  const float clip = config_.clip_gradients;
  if (!(clip > 0.0f)) return Status::success();
  WorkerState& st = *states_[w];
  const float* diff = st.train_net->param_diff();
  double sum = 0.0;
  for (const UpdateSpan& s : st.spans) {
    for (int64_t i = 0; i < s.count; ++i) {
      sum += static_cast<double>(diff[s.offset + i]) * diff[s.offset + i];
    }
  }
  BANYAN_RETURN_IF_ERROR(workers_->group_sum(w, &sum));
  const double norm = std::sqrt(sum);
  if (norm > clip) {
    const float scale = static_cast<float>(clip / norm);
    if (w == 0) {
      LOG(INFO) << "Gradient clipping: scaling down gradients (L2 norm " << norm << " > " << clip
                << ") by scale factor " << scale;
    }
    scale_diffs(st.spans, scale, st.train_net->param_diff());
  }
  return Status::success();
}

std::vector<std::pair<std::string, double>> Solver::train_outputs() {
  // Group g's worker of rank k holds the same outputs as group 0's; each
  // value is the mean over the groups' slices of the global batch.
  std::vector<std::pair<int, std::pair<std::string, double>>> out;
  for (int k = 0; k < workers_->group_size(); ++k) {
    const std::vector<NetOutput>& first = states_[k]->train_net->outputs();
    for (size_t o = 0; o < first.size(); ++o) {
      double sum = 0.0;
      for (int g = 0; g < num_groups(); ++g) {
        sum += mean_of(*states_[workers_->worker_index(g, k)]->train_net->outputs()[o].blob);
      }
      out.push_back({first[o].order, {first[o].name, sum}});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<double> sums;
  for (const auto& [order, value] : out) sums.push_back(value.second);
  Status s = sum_over_processes(sums.data(), sums.size());
  CHECK(s.ok()) << s.message();  // MPI errors end the job before this
  std::vector<std::pair<std::string, double>> values;
  for (size_t i = 0; i < out.size(); ++i) {
    values.push_back({out[i].second.first, sums[i] / global_groups()});
  }
  return values;
}

Status Solver::display(float lr) {
  const double secs = std::max(train_seconds_since_display_, 1e-9);
  const double iters_per_s = iters_since_display_ / secs;
  const double images_per_s = iters_since_display_ * static_cast<double>(batch_) *
                              config_.iter_size * global_groups() / secs;
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
  for (int w = 0; w < workers_->group_size(); ++w) {  // group 0's Data layers
    Net& net = *states_[w]->train_net;
    for (int i = 0; i < net.num_layers(); ++i) {
      const std::string status = net.layer(i).status_line();
      if (!status.empty()) log_line += " | " + status;
    }
  }
  LOG(INFO) << log_line;
  const std::vector<std::pair<std::string, double>> outputs = train_outputs();
  for (size_t o = 0; o < outputs.size(); ++o) {
    LOG(INFO) << "    Train net output #" << o << ": " << outputs[o].first << " = "
              << outputs[o].second;
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

Status Solver::solve() {
  LOG(INFO) << "Solving " << train_net().name() << " from iteration " << iter_ << " to "
            << config_.max_iter;
  remove_stale_snapshot_temps();
  while (iter_ < config_.max_iter) {
    double stop = options_.stop_requested != nullptr && options_.stop_requested->load() ? 1.0 : 0.0;
    // Every process stops at the same iteration when any was asked to.
    BANYAN_RETURN_IF_ERROR(sum_over_processes(&stop, 1));
    if (stop > 0.0) return stop_with_snapshot();
    if (test_due()) BANYAN_RETURN_IF_ERROR(test_all());
    BANYAN_RETURN_IF_ERROR(train_iteration());
    if (config_.snapshot > 0 && iter_ % config_.snapshot == 0) {
      Status written = snapshot();
      if (!written.ok()) {
        if (!options_.continue_on_snapshot_error) return written;
        ++failed_snapshots_;
        LOG(ERROR) << written.message() << "; training goes on (" << failed_snapshots_
                   << " snapshot(s) failed so far)";
      }
    }
  }
  BANYAN_RETURN_IF_ERROR(resolve_losses(iter_));  // the last losses, checked
  if (config_.snapshot_after_train && last_snapshot_iter_ != iter_) {
    BANYAN_RETURN_IF_ERROR(snapshot());
  }
  if (config_.test_interval > 0 && !config_.test_iter.empty() &&
      iter_ % config_.test_interval == 0) {
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

}  // namespace banyan
