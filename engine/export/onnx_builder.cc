// Small helpers over the generated ONNX message classes: unique names,
// float32 tensors stored as raw little-endian bytes, typed attributes.
#include "engine/export/onnx_builder.h"

#include <glog/logging.h>

#include <cstring>

namespace banyan {
namespace {

std::string make_unique(const std::string& base, std::set<std::string>* used) {
  std::string name = base;
  for (int k = 2; used->count(name) > 0; ++k) name = base + "_" + std::to_string(k);
  used->insert(name);
  return name;
}

void fill_value_info(const std::string& name, const Shape& shape, onnx::ValueInfoProto* info) {
  info->set_name(name);
  onnx::TypeProto::Tensor* t = info->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : shape.dims()) t->mutable_shape()->add_dim()->set_dim_value(d);
}

onnx::AttributeProto* add_attribute(onnx::NodeProto* node, const std::string& name,
                                    onnx::AttributeProto::AttributeType type) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}

}  // namespace

std::string OnnxGraphBuilder::unique_name(const std::string& base) {
  return make_unique(base, &values_);
}

std::string OnnxGraphBuilder::add_initializer(const std::string& base, const Shape& shape,
                                              const std::vector<float>& values) {
  CHECK_EQ(static_cast<int64_t>(values.size()), shape.count()) << base;
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(unique_name(base));
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : shape.dims()) t->add_dims(d);
  std::string raw(values.size() * sizeof(float), '\0');
  if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
  t->set_raw_data(std::move(raw));
  return t->name();
}

std::string OnnxGraphBuilder::add_int64_initializer(const std::string& base,
                                                    const std::vector<int64_t>& values) {
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(unique_name(base));
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
  return t->name();
}

void OnnxGraphBuilder::add_input(const std::string& name, const Shape& shape) {
  values_.insert(name);
  fill_value_info(name, shape, graph_->add_input());
}

void OnnxGraphBuilder::add_output(const std::string& name, const Shape& shape) {
  fill_value_info(name, shape, graph_->add_output());
}

onnx::NodeProto* OnnxGraphBuilder::add_node(const std::string& op_type, const std::string& name,
                                            const std::vector<std::string>& inputs,
                                            const std::vector<std::string>& outputs) {
  onnx::NodeProto* n = graph_->add_node();
  n->set_op_type(op_type);
  n->set_name(make_unique(name, &nodes_));
  for (const std::string& in : inputs) n->add_input(in);
  for (const std::string& out : outputs) n->add_output(out);
  return n;
}

void OnnxGraphBuilder::set_int(onnx::NodeProto* node, const std::string& name, int64_t value) {
  add_attribute(node, name, onnx::AttributeProto::INT)->set_i(value);
}

void OnnxGraphBuilder::set_float(onnx::NodeProto* node, const std::string& name, float value) {
  add_attribute(node, name, onnx::AttributeProto::FLOAT)->set_f(value);
}

void OnnxGraphBuilder::set_ints(onnx::NodeProto* node, const std::string& name,
                                const std::vector<int64_t>& values) {
  onnx::AttributeProto* a = add_attribute(node, name, onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

}  // namespace banyan
