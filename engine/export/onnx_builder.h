// OnnxGraphBuilder: appends nodes, initializers and graph inputs/outputs to
// an ONNX GraphProto (the subset schema in engine/config/proto/
// onnx_subset.proto) and keeps every value and node name unique.  Used by
// the exporter only; not thread-safe.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "engine/core/shape.h"
#include "onnx_subset.pb.h"

namespace banyan {

class OnnxGraphBuilder {
 public:
  // `graph` is owned by the caller and must outlive the builder.
  explicit OnnxGraphBuilder(onnx::GraphProto* graph) : graph_(graph) {}

  // `base` when no value has that name yet, else `base` + "_2", "_3", ...
  std::string unique_name(const std::string& base);

  // Adds a float32 initializer (values copied, shape.count() of them) under
  // a unique name derived from `base`; returns the name.
  std::string add_initializer(const std::string& base, const Shape& shape,
                              const std::vector<float>& values);
  // An int64 initializer (shapes, pads) of rank 1.
  std::string add_int64_initializer(const std::string& base, const std::vector<int64_t>& values);
  // A float32 graph input or output with a fixed shape.
  void add_input(const std::string& name, const Shape& shape);
  void add_output(const std::string& name, const Shape& shape);

  // Appends a node named `name` (made unique) of `op_type`.
  onnx::NodeProto* add_node(const std::string& op_type, const std::string& name,
                            const std::vector<std::string>& inputs,
                            const std::vector<std::string>& outputs);

  static void set_int(onnx::NodeProto* node, const std::string& name, int64_t value);
  static void set_float(onnx::NodeProto* node, const std::string& name, float value);
  static void set_ints(onnx::NodeProto* node, const std::string& name,
                       const std::vector<int64_t>& values);

 private:
  onnx::GraphProto* graph_;
  std::set<std::string> values_;  // value names in use
  std::set<std::string> nodes_;   // node names in use
};

}  // namespace banyan
