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

bool LayerConfig::in_phase(Phase p) const {
  auto has = [p](const std::vector<Phase>& v) {
    return std::find(v.begin(), v.end(), p) != v.end();
  };
  if (!include_phases.empty() && !has(include_phases)) return false;
  return !has(exclude_phases);
}

}  // namespace banyan
