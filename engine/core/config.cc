// Helpers of the plain config structs.
#include "engine/core/config.h"

#include <algorithm>

namespace banyan {

const char* phase_name(Phase p) { return p == Phase::kTrain ? "TRAIN" : "TEST"; }

std::string SourceLocation::to_string() const {
  if (file.empty() && line == 0) return "<config>";
  std::string s = file.empty() ? "<config>" : file;
  if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  return s;
}

bool type_has_params(const std::string& type) {
  static const char* const kTypes[] = {"Convolution", "InnerProduct", "BatchNorm", "Scale",
                                       "PReLU",       "Bias",         "Embed",
                                       "Deconvolution"};
  return std::any_of(std::begin(kTypes), std::end(kTypes),
                     [&](const char* t) { return type == t; });
}

NetState NetConfig::state_for(Phase p, const NetStateOverride& with) const {
  NetState s = state;
  s.phase = p;
  if (with.level.has_value()) s.level = *with.level;
  s.stages.insert(s.stages.end(), with.stages.begin(), with.stages.end());
  return s;
}

bool StateRule::matches(const NetState& state) const {
  auto has = [&](const std::string& stage) {
    return std::find(state.stages.begin(), state.stages.end(), stage) != state.stages.end();
  };
  if (phase.has_value() && *phase != state.phase) return false;
  if (min_level.has_value() && state.level < *min_level) return false;
  if (max_level.has_value() && state.level > *max_level) return false;
  return std::all_of(stages.begin(), stages.end(), has) &&
         std::none_of(not_stages.begin(), not_stages.end(), has);
}

bool LayerConfig::in_state(const NetState& state) const {
  auto matches = [&](const StateRule& r) { return r.matches(state); };
  if (!include.empty()) return std::any_of(include.begin(), include.end(), matches);
  return std::none_of(exclude.begin(), exclude.end(), matches);
}

bool LayerConfig::in_phase(Phase p) const {
  NetState state;
  state.phase = p;
  return in_state(state);
}

}  // namespace banyan
