// SolverParameter -> SolverConfig: the net files, the learning-rate schedule,
// the optimizer and the snapshot/test settings, each checked against what the
// engine can run; and ResolveNetPath.  Banyan runs one test net: the `net`
// file in phase TEST, or `test_net`.
#include <glog/logging.h>

#include <filesystem>
#include <string>

#include "banyan.pb.h"
#include "engine/config/layer_params.h"
#include "engine/config/loader.h"
#include "engine/config/text_parse.h"

namespace banyan {
namespace {

using config_internal::num;
using config_internal::ParseInfoTree;
using config_internal::Scope;

Status convert_net_files(const pb::SolverParameter& p, const Scope& s, SolverConfig* out) {
  for (const char* inline_net : {"net_param", "train_net_param", "test_net_param"}) {
    const auto* f = p.GetDescriptor()->FindFieldByName(inline_net);
    const auto* r = p.GetReflection();
    if (f->is_repeated() ? r->FieldSize(p, f) > 0 : r->HasField(p, f)) {
      return s.unsupported(inline_net,
                           "(a net written inside the solver) is not supported; put the net in a "
                           "file and name it with net: \"...\"",
                           0);
    }
  }
  if (p.has_net() && p.has_train_net()) {
    return s.invalid("train_net", "and net are both given; use one");
  }
  if (p.net().empty() && p.train_net().empty()) {
    return s.invalid("net", "is missing; name the net file with net: \"...\"");
  }
  if (p.test_net_size() > 1) {
    return s.unsupported(
        "test_net",
        "is given " + std::to_string(p.test_net_size()) + " times; only one test net is supported",
        1);
  }
  out->net = p.net();
  out->train_net = p.train_net();
  out->test_net = p.test_net_size() > 0 ? p.test_net(0) : "";
  // With net: one test net per test_state (one when none is given), as Caffe.
  int test_nets = p.has_net() || p.test_net_size() > 0 ? 1 : 0;
  if (p.has_net() && p.test_state_size() > 1) test_nets = p.test_state_size();
  if (p.test_state_size() > test_nets) {
    return s.invalid("test_state",
                     "is given " + std::to_string(p.test_state_size()) + " times for " +
                         std::to_string(test_nets) + " test net(s); expected one per test net",
                     test_nets);
  }
  auto override_of = [](const pb::NetState& state) {
    NetStateOverride o;
    if (state.has_level()) o.level = state.level();
    o.stages.assign(state.stage().begin(), state.stage().end());
    return o;
  };
  if (p.has_train_state()) {
    if (p.train_state().has_phase() && p.train_state().phase() != pb::TRAIN) {
      return s.invalid("train_state", "has phase TEST; the train net's phase is TRAIN");
    }
    out->train_state = override_of(p.train_state());
  }
  for (int i = 0; i < p.test_state_size(); ++i) {
    if (p.test_state(i).has_phase() && p.test_state(i).phase() != pb::TEST) {
      return s.invalid("test_state", "has phase TRAIN; a test net's phase is TEST", i);
    }
    out->test_state.push_back(override_of(p.test_state(i)));
  }
  if (!out->test_state.empty() && p.test_iter_size() != static_cast<int>(out->test_state.size())) {
    return s.invalid("test_iter", "is given " + std::to_string(p.test_iter_size()) + " times for " +
                                      std::to_string(out->test_state.size()) +
                                      " test_state(s); expected one per test net");
  }
  if (p.test_iter_size() > test_nets) {
    return s.invalid("test_iter",
                     "is given " + std::to_string(p.test_iter_size()) + " times for " +
                         std::to_string(test_nets) + " test net(s); expected one per test net",
                     test_nets);
  }
  for (int i = 0; i < p.test_iter_size(); ++i) {
    if (p.test_iter(i) <= 0) {
      return s.invalid("test_iter", "must be > 0, got " + std::to_string(p.test_iter(i)), i);
    }
  }
  if (p.test_interval() < 0) {
    return s.invalid("test_interval", "must be >= 0, got " + std::to_string(p.test_interval()));
  }
  if (p.test_interval() > 0 && test_nets > 0 && p.test_iter_size() == 0) {
    return s.invalid("test_interval", "needs test_iter (the number of batches of a test pass)");
  }
  out->test_iter.assign(p.test_iter().begin(), p.test_iter().end());
  out->test_interval = p.test_interval();
  out->test_initialization = p.test_initialization();
  return Status::success();
}

// The lr_policy's own settings: stepsize, stepvalue, gamma, power.
Status check_policy_settings(const pb::SolverParameter& p, const Scope& s,
                             const std::string& policy) {
  const std::string quoted = "'" + policy + "'";
  const bool needs_gamma = policy == "step" || policy == "multistep" || policy == "exp" ||
                           policy == "inv" || policy == "sigmoid";
  if (needs_gamma && !p.has_gamma()) return s.invalid("lr_policy", quoted + " needs gamma");
  if ((policy == "inv" || policy == "poly") && !p.has_power()) {
    return s.invalid("lr_policy", quoted + " needs power");
  }
  if ((policy == "step" || policy == "sigmoid") && !p.has_stepsize()) {
    return s.invalid("lr_policy", quoted + " needs stepsize");
  }
  if (policy == "step" && p.stepsize() <= 0) {
    return s.invalid("stepsize", "must be > 0, got " + std::to_string(p.stepsize()));
  }
  if (policy == "multistep" && p.stepvalue_size() == 0) {
    return s.invalid("lr_policy", quoted + " needs stepvalue (the iterations where it steps)");
  }
  for (int i = 0; i < p.stepvalue_size(); ++i) {
    const int prev = i == 0 ? 0 : p.stepvalue(i - 1);
    if (p.stepvalue(i) <= prev) {
      return s.invalid("stepvalue",
                       "must be increasing and > 0, got " + std::to_string(p.stepvalue(i)) +
                           " after " + std::to_string(prev),
                       i);
    }
  }
  if (policy == "poly" && p.max_iter() <= 0) {
    return s.invalid("lr_policy", quoted + " needs max_iter > 0");
  }
  return Status::success();
}

Status convert_schedule(const pb::SolverParameter& p, const Scope& s, SolverConfig* out) {
  if (!(p.base_lr() > 0.0f)) {
    return s.invalid(
        "base_lr", "must be > 0, got " + num(p.base_lr()) + (p.has_base_lr() ? "" : " (not set)"));
  }
  if (p.max_iter() < 0) {
    return s.invalid("max_iter", "must be >= 0, got " + std::to_string(p.max_iter()));
  }
  if (p.iter_size() < 1) {
    return s.invalid("iter_size", "must be >= 1, got " + std::to_string(p.iter_size()));
  }
  const std::string policy = p.has_lr_policy() ? p.lr_policy() : "fixed";
  if (policy != "fixed" && policy != "step" && policy != "multistep" && policy != "exp" &&
      policy != "inv" && policy != "poly" && policy != "sigmoid") {
    return s.invalid("lr_policy", "'" + policy +
                                      "' is unknown; expected fixed, step, multistep, exp, inv, "
                                      "poly or sigmoid");
  }
  BANYAN_RETURN_IF_ERROR(check_policy_settings(p, s, policy));
  if (p.warmup_iter() < 0) {
    return s.invalid("warmup_iter", "must be >= 0, got " + std::to_string(p.warmup_iter()));
  }
  if (!(p.warmup_start_lr() >= 0.0f)) {
    return s.invalid("warmup_start_lr", "must be >= 0, got " + num(p.warmup_start_lr()));
  }
  out->base_lr = p.base_lr();
  out->max_iter = p.max_iter();
  out->iter_size = p.iter_size();
  out->lr_policy = policy;
  out->gamma = p.gamma();
  out->power = p.power();
  out->stepsize = p.stepsize();
  out->stepvalue.assign(p.stepvalue().begin(), p.stepvalue().end());
  out->warmup_iter = p.warmup_iter();
  out->warmup_start_lr = p.warmup_start_lr();
  return Status::success();
}

Status convert_type(const pb::SolverParameter& p, const Scope& s, SolverConfig::Type* type) {
  using T = SolverConfig::Type;
  if (p.has_type() && p.has_solver_type()) {
    return s.invalid("solver_type", "and type are both given; use type");
  }
  if (p.has_solver_type()) {
    switch (p.solver_type()) {
      case pb::SolverParameter::SGD:
        *type = T::kSgd;
        return Status::success();
      case pb::SolverParameter::NESTEROV:
        *type = T::kNesterov;
        return Status::success();
      case pb::SolverParameter::ADAGRAD:
        *type = T::kAdaGrad;
        return Status::success();
      case pb::SolverParameter::ADAM:
        *type = T::kAdam;
        return Status::success();
      case pb::SolverParameter::RMSPROP:
        *type = T::kRmsProp;
        return Status::success();
      case pb::SolverParameter::ADADELTA:
        *type = T::kAdaDelta;
        return Status::success();
    }
    return s.invalid("solver_type", "value " + std::to_string(p.solver_type()) + " is unknown");
  }
  const std::string& t = p.type();
  if (t == "SGD")
    *type = T::kSgd;
  else if (t == "Nesterov")
    *type = T::kNesterov;
  else if (t == "AdaGrad")
    *type = T::kAdaGrad;
  else if (t == "Adam")
    *type = T::kAdam;
  else if (t == "RMSProp")
    *type = T::kRmsProp;
  else if (t == "AdaDelta")
    *type = T::kAdaDelta;
  else {
    return s.invalid("type", "'" + t +
                                 "' is unknown; expected SGD, Nesterov, AdaGrad, RMSProp, AdaDelta "
                                 "or Adam");
  }
  return Status::success();
}

Status convert_optimizer(const pb::SolverParameter& p, const Scope& s, SolverConfig* out) {
  BANYAN_RETURN_IF_ERROR(convert_type(p, s, &out->type));
  if (!(p.momentum() >= 0.0f && p.momentum() < 1.0f)) {
    return s.invalid("momentum", "must be in [0, 1), got " + num(p.momentum()));
  }
  if (!(p.momentum2() >= 0.0f && p.momentum2() < 1.0f)) {
    return s.invalid("momentum2", "must be in [0, 1), got " + num(p.momentum2()));
  }
  if (!(p.delta() > 0.0f)) return s.invalid("delta", "must be > 0, got " + num(p.delta()));
  if (!(p.weight_decay() >= 0.0f)) {
    return s.invalid("weight_decay", "must be >= 0, got " + num(p.weight_decay()));
  }
  if (p.regularization_type() != "L2" && p.regularization_type() != "L1") {
    return s.invalid("regularization_type",
                     "'" + p.regularization_type() + "' is unknown; expected L2 or L1");
  }
  out->momentum = p.momentum();
  out->momentum2 = p.momentum2();
  out->delta = p.delta();
  out->rms_decay = p.rms_decay();
  out->weight_decay = p.weight_decay();
  out->regularization_type = p.regularization_type();
  out->clip_gradients = p.clip_gradients();
  out->precision = p.precision() == pb::SolverParameter::BF16 ? SolverConfig::Precision::kBFloat16
                                                              : SolverConfig::Precision::kFloat32;
  switch (p.exchange_precision()) {
    case pb::SolverParameter::EXCHANGE_BF16:
      out->exchange_precision = WirePrecision::kBf16;
      break;
    case pb::SolverParameter::EXCHANGE_FP16:
      out->exchange_precision = WirePrecision::kFp16;
      break;
    default:
      out->exchange_precision = WirePrecision::kFloat32;
  }
  if (out->type == SolverConfig::Type::kRmsProp) {
    if (!(p.rms_decay() >= 0.0f && p.rms_decay() < 1.0f)) {
      return s.invalid("rms_decay", "must be in [0, 1), got " + num(p.rms_decay()));
    }
    if (p.momentum() != 0.0f) {
      return s.invalid("momentum",
                       "must be 0 for RMSProp (rms_decay is its decay), got " + num(p.momentum()));
    }
  } else if (p.has_rms_decay()) {
    s.ignored("rms_decay", "only RMSProp uses it");
  }
  return Status::success();
}

// Display, snapshots, seed, and the fields that do not change the maths.
Status convert_rest(const pb::SolverParameter& p, const Scope& s, SolverConfig* out) {
  if (p.display() < 0)
    return s.invalid("display", "must be >= 0, got " + std::to_string(p.display()));
  if (p.average_loss() < 1) {
    return s.invalid("average_loss", "must be >= 1, got " + std::to_string(p.average_loss()));
  }
  if (p.snapshot() < 0) {
    return s.invalid("snapshot", "must be >= 0, got " + std::to_string(p.snapshot()));
  }
  if (p.snapshot_format() == pb::SolverParameter::HDF5) {
    // Caffe's CIFAR-10 solvers ask for HDF5; the snapshot is what matters.
    s.ignored("snapshot_format",
              "snapshots are written in Banyan's own format (.banyan weights + .solverstate)");
  }
  if (p.weights_size() > 0) {
    return s.unsupported("weights", "in the solver file is not supported; pass --weights", 0);
  }
  out->display = p.display();
  out->average_loss = p.average_loss();
  out->snapshot = p.snapshot();
  out->snapshot_prefix = p.snapshot_prefix();
  out->snapshot_after_train = p.snapshot_after_train();
  out->random_seed = p.random_seed();
  if (p.has_snapshot_format()) s.ignored("snapshot_format", "snapshots are binary protos");
  if (p.has_snapshot_diff()) s.ignored("snapshot_diff", "snapshots hold weights and solver state");
  if (p.has_solver_mode()) s.ignored("solver_mode", "devices are chosen with --devices");
  if (p.has_device_id()) s.ignored("device_id", "devices are chosen with --devices");
  if (p.has_debug_info()) s.ignored("debug_info", "use the per-layer timing instead");
  out->test_compute_loss = p.test_compute_loss();
  if (p.has_layer_wise_reduce())
    s.ignored("layer_wise_reduce", "gradients are exchanged in buckets");
  return Status::success();
}

}  // namespace

Status parse_solver_config(const std::string& text, const std::string& filename,
                           SolverConfig* out) {
  *out = SolverConfig();
  pb::SolverParameter p;
  ParseInfoTree tree;
  BANYAN_RETURN_IF_ERROR(config_internal::parse_text(text, filename, &p, &tree));
  SourceLocation file_start;
  file_start.file = filename;
  const Scope s(filename, p.GetDescriptor(), &tree, file_start, "");
  Status status = convert_net_files(p, s, out);
  if (status.ok()) status = convert_schedule(p, s, out);
  if (status.ok()) status = convert_optimizer(p, s, out);
  if (status.ok()) status = convert_rest(p, s, out);
  if (!status.ok()) {
    *out = SolverConfig();
    return status;
  }
  out->source_file = filename;
  return Status::success();
}

Status load_solver_config(const std::string& path, SolverConfig* out) {
  std::string text;
  BANYAN_RETURN_IF_ERROR(config_internal::read_text_file(path, "solver file", &text));
  return parse_solver_config(text, path, out);
}

Status resolve_net_path(const SolverConfig& solver, std::string* path) {
  namespace fs = std::filesystem;
  const std::string& written = !solver.net.empty() ? solver.net : solver.train_net;
  const std::string where = solver.source_file.empty() ? "the solver" : solver.source_file;
  if (written.empty()) return Status::invalid_argument(where + ": names no net (set net: \"...\")");
  std::error_code ec;
  if (fs::is_regular_file(written, ec)) {
    *path = written;
    return Status::success();
  }
  std::string tried = "'" + written + "'";
  if (fs::path(written).is_relative() && !solver.source_file.empty()) {
    const std::string beside = (fs::path(solver.source_file).parent_path() / written).string();
    if (fs::is_regular_file(beside, ec)) {
      *path = beside;
      return Status::success();
    }
    tried += " and '" + beside + "'";
  }
  return Status::not_found(where + ": net file '" + written + "' not found; tried " + tried);
}

}  // namespace banyan
