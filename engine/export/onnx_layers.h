// OnnxLayerWriter: turns the TEST-phase layers of a deploy config into ONNX
// nodes, one layer type at a time, with weights and blob shapes from a CPU
// Net built from the same config.  Internal to the exporter
// (engine/export/onnx_export.h is the interface); not thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "engine/core/config.h"
#include "engine/core/status.h"
#include "engine/export/onnx_builder.h"
#include "engine/export/onnx_export.h"
#include "engine/net.h"

namespace banyan {

class OnnxLayerWriter {
 public:
  // Every argument must outlive the writer.
  OnnxLayerWriter(const NetConfig& config, const Net& net, OnnxGraphBuilder* builder,
                  OnnxExportReport* report);

  // Emits every layer, then the graph outputs.  Errors name the layer.
  Status run();

 private:
  // Per-channel y = a * x + b from a BatchNorm (and the Scale after it).
  struct Affine {
    std::vector<float> mean, var, gamma, beta;
    float eps = 0.0f;
  };

  // Emits layer i and any layers it absorbs; *used = how many.
  Status emit(size_t i, size_t* used);
  Status input_layer(const LayerConfig& l);
  Status convolution(size_t i, size_t* used);
  Status pooling(const LayerConfig& l);
  Status inner_product(const LayerConfig& l);
  Status eltwise(const LayerConfig& l);
  Status batch_norm(size_t i, size_t* used);
  Status scale(const LayerConfig& l);
  Status simple(const LayerConfig& l);  // ReLU, LRN, Softmax, Concat, Flatten
  // onnx_elementwise.cc: Sigmoid, TanH, AbsVal, BNLL, ELU, PReLU, Reshape,
  // Swish, Power, Exp, Log, Bias; LRN within channels.
  Status elementwise(const LayerConfig& l);
  Status lrn_within_channel(const LayerConfig& l);
  // onnx_geometry.cc: Deconvolution (ConvTranspose), Crop and Slice
  // (Slice), Tile, ArgMax, Reduction.
  Status deconvolution(const LayerConfig& l);
  Status crop(const LayerConfig& l);
  Status slice(const LayerConfig& l);
  Status tile(const LayerConfig& l);
  Status argmax(const LayerConfig& l);
  Status reduction(const LayerConfig& l);
  // Helpers: a new value `op`(inputs) named after layer l (the node in
  // *made); a float constant of shape (1); y = shift + scale * x as Mul/Add
  // where they are not the identity.
  std::string node(const LayerConfig& l, const std::string& op,
                   const std::vector<std::string>& inputs, onnx::NodeProto** made = nullptr);
  std::string constant(const LayerConfig& l, const std::string& what, float value);
  // `values`, one per channel of l's bottom 0, shaped (C, 1, 1, ...) to
  // broadcast over the axes after 1.
  std::string per_channel(const LayerConfig& l, const std::string& what,
                          const std::vector<float>& values);
  std::string affine(const LayerConfig& l, const std::string& x, float scale, float shift);
  // The layer's last node, named as the layer, writing its top 0.
  onnx::NodeProto* last(const LayerConfig& l, const std::string& op,
                        const std::vector<std::string>& inputs);

  // Reads BatchNorm layer i (and a Scale at i + 1 it may absorb) into *a.
  Status read_affine(size_t i, Affine* a, size_t* used);
  // True when layer j is a `type` layer reading only `blob`, which no other
  // layer reads (so the producer of `blob` may absorb it).
  bool absorbable(size_t j, const std::string& blob, const char* type) const;

  // The ONNX value holding the latest version of `blob`; counts one read.
  Status read(const LayerConfig& l, const std::string& blob, std::string* value);
  // A fresh value for top `top_index` of l, recorded as that blob's latest.
  std::string write(const LayerConfig& l, int top_index);
  std::string write_blob(const std::string& blob);
  Status param(const LayerConfig& l, int index, Shape* shape, std::vector<float>* values) const;
  Shape shape_of(const std::string& blob) const;
  Status refuse(const LayerConfig& l, const std::string& why) const;

  const NetConfig& config_;
  const Net& net_;
  OnnxGraphBuilder* b_;
  OnnxExportReport* report_;
  std::vector<const LayerConfig*> layers_;                     // TEST phase, in order
  std::map<std::string, std::string> latest_;                  // blob -> value
  std::vector<std::pair<std::string, std::string>> produced_;  // (value, blob)
  std::map<std::string, int> reads_;                           // value -> readers
};

}  // namespace banyan
