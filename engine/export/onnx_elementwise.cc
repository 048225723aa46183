// ONNX forms of the elementwise layers, Bias and within-channel LRN,
// each a short chain of standard operators that computes what the layer
// computes (docs/design-notes.md, "Export", has the table).
#include <cmath>

#include "engine/export/onnx_layers.h"

namespace banyan {

std::string OnnxLayerWriter::node(const LayerConfig& l, const std::string& op,
                                  const std::vector<std::string>& inputs, onnx::NodeProto** made) {
  const std::string out = b_->unique_name(l.name + "_" + op);
  onnx::NodeProto* n = b_->add_node(op, l.name + "_" + op, inputs, {out});
  if (made != nullptr) *made = n;
  return out;
}

onnx::NodeProto* OnnxLayerWriter::last(const LayerConfig& l, const std::string& op,
                                       const std::vector<std::string>& inputs) {
  return b_->add_node(op, l.name, inputs, {write(l, 0)});
}

std::string OnnxLayerWriter::per_channel(const LayerConfig& l, const std::string& what,
                                         const std::vector<float>& values) {
  std::vector<int64_t> dims = {static_cast<int64_t>(values.size())};
  for (int k = 2; k < shape_of(l.bottom[0]).num_axes(); ++k) dims.push_back(1);
  return b_->add_initializer(l.name + "_" + what, Shape(dims), values);
}

std::string OnnxLayerWriter::constant(const LayerConfig& l, const std::string& what, float value) {
  return b_->add_initializer(l.name + "_" + what, Shape{1}, {value});
}

std::string OnnxLayerWriter::affine(const LayerConfig& l, const std::string& x, float scale,
                                    float shift) {
  std::string v = x;
  if (scale != 1.0f) v = node(l, "Mul", {v, constant(l, "scale", scale)});
  if (shift != 0.0f) v = node(l, "Add", {v, constant(l, "shift", shift)});
  return v;
}

Status OnnxLayerWriter::elementwise(const LayerConfig& l) {
  const std::string& t = l.type;
  std::string x;
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &x));
  const NeuronConfig& c = l.neuron;
  if (t == "PReLU" || t == "Bias") {
    if (t == "Bias" && (l.bottom.size() != 1 || l.bias.axis != 1 || l.bias.num_axes != 1)) {
      return refuse(l, "only one bottom with axis 1 and num_axes 1 is exported");
    }
    Shape p_shape;
    std::vector<float> v;
    BANYAN_RETURN_IF_ERROR(param(l, 0, &p_shape, &v));
    last(l, t == "PReLU" ? "PRelu" : "Add",
         {x, per_channel(l, t == "PReLU" ? "slope" : "bias", v)});
    return Status::success();
  }
  if (t == "Reshape") {
    const Shape out = shape_of(l.top[0]);
    last(l, "Reshape",
         {x, b_->add_int64_initializer(
                 l.name + "_shape", std::vector<int64_t>(out.dims().begin(), out.dims().end()))});
    return Status::success();
  }
  if (t == "Swish") {  // x * sigmoid(beta x)
    last(l, "Mul", {x, node(l, "Sigmoid", {affine(l, x, c.beta, 0.0f)})});
    return Status::success();
  }
  const float log_base = c.base == -1.0f ? 1.0f : std::log(c.base);
  if (t == "Power") {  // (shift + scale x)^power
    const std::string z = affine(l, x, c.scale, c.shift);
    if (c.power == 1.0f) {
      last(l, "Identity", {z});
    } else {
      last(l, "Pow", {z, constant(l, "power", c.power)});
    }
    return Status::success();
  }
  if (t == "Exp") {  // base^(shift + scale x) = e^(ln(base) (shift + scale x))
    last(l, "Exp", {affine(l, x, log_base * c.scale, log_base * c.shift)});
    return Status::success();
  }
  if (t == "Log") {  // log_base(shift + scale x)
    const std::string z = affine(l, x, c.scale, c.shift);
    if (log_base == 1.0f) {
      last(l, "Log", {z});
    } else {
      last(l, "Mul", {node(l, "Log", {z}), constant(l, "inv_ln_base", 1.0f / log_base)});
    }
    return Status::success();
  }
  const std::string op = t == "TanH"     ? "Tanh"
                         : t == "AbsVal" ? "Abs"
                         : t == "BNLL"   ? "Softplus"
                         : t == "ELU"    ? "Elu"
                                         : t;  // Sigmoid
  onnx::NodeProto* n = last(l, op, {x});
  if (t == "ELU") b_->set_float(n, "alpha", c.alpha);
  return Status::success();
}

// x (1 + alpha / n * sum of x^2 over the local_size^2 window)^-beta: the
// squares zero-padded, then averaged over whole windows (the divisor is n
// everywhere, as Caffe's pooling of the padded squares gives).
Status OnnxLayerWriter::lrn_within_channel(const LayerConfig& l) {
  std::string x;
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &x));
  if (shape_of(l.bottom[0]).num_axes() != 4) {
    return refuse(l, "only 4-D (N, C, H, W) inputs are exported");
  }
  const int64_t size = l.lrn.local_size, pad = (size - 1) / 2;
  const std::string pads =
      b_->add_int64_initializer(l.name + "_pads", {0, 0, pad, pad, 0, 0, pad, pad});
  const std::string padded = node(l, "Pad", {node(l, "Mul", {x, x}), pads});
  onnx::NodeProto* n = nullptr;
  const std::string mean = node(l, "AveragePool", {padded}, &n);
  b_->set_ints(n, "kernel_shape", {size, size});
  b_->set_ints(n, "strides", {1, 1});
  const std::string base = affine(l, mean, l.lrn.alpha, 1.0f);
  last(l, "Mul", {x, node(l, "Pow", {base, constant(l, "neg_beta", -l.lrn.beta)})});
  return Status::success();
}

}  // namespace banyan
