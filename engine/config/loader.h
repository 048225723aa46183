// Loading net and solver configs: Caffe-style prototxt text parsed against
// engine/config/proto/banyan.proto, checked, and turned into the plain structs
// of engine/core/config.h.  Protobuf does not leak past this interface.
//
// Every error names the file, line and column of the offending field, the
// layer when there is one, the value and what was expected, e.g.
//   lenet.prototxt:23:5: layer 'conv1': convolution_param.kernel_size must be > 0, got 0
// Syntax errors, unknown fields and bad values are InvalidArgument; valid
// Caffe settings the engine cannot honour (LEVELDB, STOCHASTIC pooling,
// parameter sharing, stage rules, RMSProp, ...) are Unimplemented; a missing
// file is NotFound.  Settings that do not change the maths here (solver_mode,
// device_id, engine, backend: LMDB, prefetch, debug_info, force_backward, ...)
// load with one LOG(WARNING) each, naming file:line and the field.
//
// Defaults and legacy spellings are resolved: kernel_size/pad/stride/dilation
// as one value, two values or *_h/*_w; net-level `input` + `input_shape` or
// `input_dim` becomes an Input layer at the front; include/exclude rules
// become phase lists; an absent Scale filler is constant 1; solver `type` or
// the legacy `solver_type` enum.  The functions are thread-compatible and
// hold no state between calls.
#pragma once

#include <string>

#include "engine/core/config.h"
#include "engine/core/status.h"

namespace banyan {

// Reads and parses the net file at `path`; `out->source_file` = `path`.
Status load_net_config(const std::string& path, NetConfig* out);
// Parses net text; `filename` names it in messages and becomes source_file.
Status parse_net_config(const std::string& text, const std::string& filename, NetConfig* out);

// Reads and parses the solver file at `path`; `out->source_file` = `path`.
Status load_solver_config(const std::string& path, SolverConfig* out);
// Parses solver text; `filename` names it in messages and becomes source_file.
Status parse_solver_config(const std::string& text, const std::string& filename, SolverConfig* out);

// The file of the solver's net (`net`, else `train_net`): the path as written
// when it exists (absolute, or relative to the working directory), else the
// same path relative to the directory of the solver's source_file.  NotFound
// naming every path tried; InvalidArgument when the solver names no net.
Status resolve_net_path(const SolverConfig& solver, std::string* path);

}  // namespace banyan
