// NetParameter -> NetConfig: the legacy net-level inputs, the fields every
// layer has (names, blobs, param specs, phase rules, partition) and the
// cross-layer check for duplicate names.  Type-specific parameters are in
// layer_params.cc.  Two layers may share a name only when no phase holds both
// (Caffe's own nets name their TRAIN and TEST data layers alike).
#include <glog/logging.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "banyan.pb.h"
#include "engine/config/layer_params.h"
#include "engine/config/loader.h"
#include "engine/config/text_parse.h"

namespace banyan {
namespace {

using config_internal::ParseInfoTree;
using config_internal::Scope;

Status check_dims(const Scope& s, const char* field, int index, int64_t dim) {
  if (dim > 0) return Status::success();
  return s.invalid(field, "dimensions must be > 0, got " + std::to_string(dim), index);
}

// Net-level `input` names with `input_shape` or 4 x `input_dim` become Input
// layers, in order, at the front of `out->layers`.
Status convert_legacy_inputs(const pb::NetParameter& net, const Scope& s, NetConfig* out) {
  const int n = net.input_size();
  const int shapes = net.input_shape_size(), dims = net.input_dim_size();
  if (n == 0) {
    if (shapes > 0) return s.invalid("input_shape", "is given without 'input' names", 0);
    if (dims > 0) return s.invalid("input_dim", "is given without 'input' names", 0);
    return Status::success();
  }
  if (shapes > 0 && dims > 0) {
    return s.invalid("input_dim", "and input_shape are both given; use one", 0);
  }
  if (shapes == 0 && dims == 0) {
    return s.invalid("input",
                     "'" + net.input(0) +
                         "' has no shape; give input_shape { dim: ... } or four input_dim "
                         "values per input",
                     0);
  }
  if (shapes > 0 && shapes != n) {
    return s.invalid("input_shape",
                     "is given " + std::to_string(shapes) + " times for " + std::to_string(n) +
                         " inputs; expected one per input",
                     0);
  }
  if (dims > 0 && dims != 4 * n) {
    return s.invalid("input_dim",
                     "is given " + std::to_string(dims) + " times for " + std::to_string(n) +
                         " inputs; expected 4 per input (N, C, H, W)",
                     0);
  }
  for (int i = 0; i < n; ++i) {
    LayerConfig layer;
    layer.name = net.input(i);
    layer.type = "Input";
    layer.top = {net.input(i)};
    layer.location = s.where("input", i);
    Shape shape;
    if (shapes > 0) {
      for (int64_t d : net.input_shape(i).dim()) {
        BANYAN_RETURN_IF_ERROR(check_dims(s, "input_shape", i, d));
        shape.push_back(d);
      }
    } else {
      for (int j = 4 * i; j < 4 * i + 4; ++j) {
        BANYAN_RETURN_IF_ERROR(check_dims(s, "input_dim", j, net.input_dim(j)));
        shape.push_back(net.input_dim(j));
      }
    }
    layer.input.shapes = {shape};
    out->layers.push_back(std::move(layer));
  }
  return Status::success();
}

Status convert_rule(const pb::NetStateRule& rule, const Scope& s, std::vector<StateRule>* rules) {
  StateRule r;
  if (rule.has_phase()) r.phase = rule.phase() == pb::TRAIN ? Phase::kTrain : Phase::kTest;
  if (rule.has_min_level()) r.min_level = rule.min_level();
  if (rule.has_max_level()) r.max_level = rule.max_level();
  if (r.min_level && r.max_level && *r.min_level > *r.max_level) {
    return s.invalid("max_level", std::to_string(*r.max_level) + " is below min_level " +
                                      std::to_string(*r.min_level) + ": the rule matches nothing");
  }
  r.stages.assign(rule.stage().begin(), rule.stage().end());
  r.not_stages.assign(rule.not_stage().begin(), rule.not_stage().end());
  for (const std::string& stage : r.stages) {
    if (std::find(r.not_stages.begin(), r.not_stages.end(), stage) != r.not_stages.end()) {
      return s.invalid("not_stage", "'" + stage + "' is also a stage: the rule matches nothing");
    }
  }
  rules->push_back(std::move(r));
  return Status::success();
}

Status convert_rules(const pb::LayerParameter& p, const Scope& s, LayerConfig* out) {
  if (p.include_size() > 0 && p.exclude_size() > 0) {
    return s.invalid("exclude", "and include rules are both given; use one kind");
  }
  for (int i = 0; i < p.include_size(); ++i) {
    BANYAN_RETURN_IF_ERROR(convert_rule(p.include(i), s.nested("include", i), &out->include));
  }
  for (int i = 0; i < p.exclude_size(); ++i) {
    BANYAN_RETURN_IF_ERROR(convert_rule(p.exclude(i), s.nested("exclude", i), &out->exclude));
  }
  return Status::success();
}

// Blob lists, loss weights, param specs and the Banyan partition.
Status convert_layer_fields(const pb::LayerParameter& p, const Scope& s, LayerConfig* out) {
  out->bottom.assign(p.bottom().begin(), p.bottom().end());
  out->top.assign(p.top().begin(), p.top().end());
  if (p.loss_weight_size() > 0 && p.loss_weight_size() != p.top_size()) {
    return s.invalid("loss_weight", "is given " + std::to_string(p.loss_weight_size()) +
                                        " times for " + std::to_string(p.top_size()) +
                                        " tops; expected none or one per top");
  }
  out->loss_weight.assign(p.loss_weight().begin(), p.loss_weight().end());
  if (p.propagate_down_size() > 0 && p.propagate_down_size() != p.bottom_size()) {
    return s.invalid("propagate_down", "is given " + std::to_string(p.propagate_down_size()) +
                                           " times for " + std::to_string(p.bottom_size()) +
                                           " bottoms; expected none or one per bottom");
  }
  out->propagate_down.assign(p.propagate_down().begin(), p.propagate_down().end());
  for (int i = 0; i < p.param_size(); ++i) {
    const pb::ParamSpec& spec = p.param(i);
    if (!spec.name().empty()) {
      return s.nested("param", i)
          .unsupported("name",
                       "'" + spec.name() + "': parameter sharing between layers is not supported");
    }
    out->param.push_back({spec.lr_mult(), spec.decay_mult()});
  }
  if (p.partition() < 0) {
    return s.invalid("partition", "must be >= 0, got " + std::to_string(p.partition()));
  }
  out->partition = p.partition();
  if (p.has_phase()) s.ignored("phase", "the engine sets each net's phase");
  if (p.blobs_size() > 0) s.ignored("blobs", "weights are loaded from a weights file");
  return Status::success();
}

Status convert_layer(const pb::LayerParameter& p, const Scope& s, LayerConfig* out) {
  out->location = s.block();
  if (p.name().empty()) return s.invalid("name", "is missing; every layer needs a name");
  out->name = p.name();
  if (p.type().empty()) return s.invalid("type", "is missing");
  out->type = p.type();
  BANYAN_RETURN_IF_ERROR(convert_layer_fields(p, s, out));
  BANYAN_RETURN_IF_ERROR(convert_rules(p, s, out));
  return config_internal::convert_layer_params(p, s, out);
}

// Two layers with parameters may share a name only when no phase holds both
// (in the net's own state; Net::create checks the state it builds).
// Parameterless layers may share names, as in Caffe.
Status check_unique_names(const NetConfig& net) {
  std::map<std::string, std::vector<size_t>> seen;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const LayerConfig& b = net.layers[i];
    if (!type_has_params(b.type)) continue;
    for (size_t j : seen[b.name]) {
      const LayerConfig& a = net.layers[j];
      for (Phase phase : {Phase::kTrain, Phase::kTest}) {
        const NetState state = net.state_for(phase);
        if (a.in_state(state) && b.in_state(state)) {
          return Status::invalid_argument(b.location.to_string() + ": duplicate layer name '" +
                                          b.name + "' (also at " + a.location.to_string() +
                                          ", both in phase " + phase_name(phase) +
                                          "; weights are matched by layer name)");
        }
      }
    }
    seen[b.name].push_back(i);
  }
  return Status::success();
}

Status convert_net(const pb::NetParameter& net, const ParseInfoTree& tree,
                   const std::string& filename, NetConfig* out) {
  SourceLocation file_start;
  file_start.file = filename;
  const Scope s(filename, net.GetDescriptor(), &tree, file_start, "");
  out->name = net.name();
  BANYAN_RETURN_IF_ERROR(convert_legacy_inputs(net, s, out));
  for (int i = 0; i < net.layer_size(); ++i) {
    const pb::LayerParameter& p = net.layer(i);
    const std::string context =
        p.name().empty() ? "layer #" + std::to_string(i + 1) + ": " : "layer '" + p.name() + "': ";
    const Scope layer_scope(filename, p.GetDescriptor(),
                            tree.GetTreeForNested(net.GetDescriptor()->FindFieldByName("layer"), i),
                            s.where("layer", i), context);
    LayerConfig layer;
    BANYAN_RETURN_IF_ERROR(convert_layer(p, layer_scope, &layer));
    out->layers.push_back(std::move(layer));
  }
  if (net.has_force_backward()) s.ignored("force_backward", "gradients run where needed");
  if (net.has_debug_info()) s.ignored("debug_info", "use the per-layer timing instead");
  if (net.has_state()) {
    if (net.state().has_phase()) s.ignored("state", "its phase is ignored: each net has its own");
    out->state.level = net.state().level();
    out->state.stages.assign(net.state().stage().begin(), net.state().stage().end());
  }
  return check_unique_names(*out);
}

}  // namespace

Status parse_net_config(const std::string& text, const std::string& filename, NetConfig* out) {
  *out = NetConfig();
  pb::NetParameter net;
  ParseInfoTree tree;
  BANYAN_RETURN_IF_ERROR(config_internal::parse_text(text, filename, &net, &tree));
  Status s = convert_net(net, tree, filename, out);
  if (!s.ok()) {
    *out = NetConfig();
    return s;
  }
  out->source_file = filename;
  return Status::success();
}

Status load_net_config(const std::string& path, NetConfig* out) {
  std::string text;
  BANYAN_RETURN_IF_ERROR(config_internal::read_text_file(path, "net file", &text));
  return parse_net_config(text, path, out);
}

}  // namespace banyan
