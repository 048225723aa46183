// ONNX export of a deploy net: the inference graph (Input -> ... -> outputs)
// with the trained weights inside, opset 17 (IR version 8), one
// single-device graph (`partition` is ignored).  The operator mapping, and
// the cases refused because ONNX has no faithful form for them, are listed
// in docs/design-notes.md ("Export").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/core/config.h"
#include "engine/core/context.h"
#include "engine/core/status.h"
#include "engine/net.h"

namespace banyan {

inline constexpr int kOnnxOpset = 17;
inline constexpr int kOnnxIrVersion = 8;

// What the exporter did beyond a one-to-one mapping ("drop3: Dropout
// removed", "bn1, scale1 folded into conv1"), and the graph's value names.
struct OnnxExportReport {
  std::vector<std::string> notes;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};

// Builds the TEST-phase net of `config` on `ctx` (any device; export needs
// the CPU, classify runs anywhere; a CUDA ctx must be initialised) with every
// layer's `partition` set to 0, so a model-parallel net becomes one graph,
// and sets ctx's step phase to TEST (forward passes run as at inference).
// Errors as Net::create.
Status build_inference_net(const NetConfig& config, WorkerContext* ctx, std::unique_ptr<Net>* net);

// Serialises the ONNX model of `config`'s TEST-phase layers, taking weights
// and blob shapes from `net` (built from the same config by
// build_inference_net, on the CPU).  Unimplemented naming the layer (file,
// line, type) when a layer or setting has no faithful ONNX form; Data
// layers are refused (a deploy net starts with Input layers).
Status export_onnx(const NetConfig& config, const Net& net, std::string* model_bytes,
                   OnnxExportReport* report = nullptr);
// The same, written to `path` (atomically: a temporary file renamed).
Status export_onnx_file(const NetConfig& config, const Net& net, const std::string& path,
                        OnnxExportReport* report = nullptr);

}  // namespace banyan
