// Layer-by-layer ONNX mapping (table in docs/design-notes.md, "Export").
// Pooling is checked against Caffe's rules: ONNX's ceil_mode output size has
// no "last window starts in the padding" drop, so that case is refused.
// Caffe's AVE divisor is the window clipped to the padded input, which
// count_include_pad cannot express when a ceil-mode window runs past the
// padded edge (and which runtimes honour unevenly), so padded AVE pooling
// is an explicit zero Pad followed by AveragePool with count_include_pad 0.
#include "engine/export/onnx_layers.h"

#include <glog/logging.h>

#include <cmath>

namespace banyan {
namespace {

std::vector<int64_t> pads4(int pad_h, int pad_w) { return {pad_h, pad_w, pad_h, pad_w}; }

// ONNX's pooled extent: floor or ceil of (in + 2 pad - kernel) / stride, + 1.
int64_t onnx_pooled(int64_t in, int kernel, int pad, int stride, bool ceil_mode) {
  const int64_t span = in + 2 * pad - kernel;
  const int64_t q = ceil_mode ? (span + stride - 1) / stride : span / stride;
  return q + 1;
}

}  // namespace

OnnxLayerWriter::OnnxLayerWriter(const NetConfig& config, const Net& net, OnnxGraphBuilder* builder,
                                 OnnxExportReport* report)
    : config_(config), net_(net), b_(builder), report_(report) {
  const NetState test = config.state_for(Phase::kTest);  // the deploy net's level and stages
  for (const LayerConfig& l : config.layers) {
    if (l.in_state(test)) layers_.push_back(&l);
  }
}

Status OnnxLayerWriter::run() {
  for (size_t i = 0; i < layers_.size();) {
    size_t used = 1;
    BANYAN_RETURN_IF_ERROR(emit(i, &used));
    i += used;
  }
  for (const auto& [value, blob] : produced_) {
    if (reads_[value] > 0 || latest_[blob] != value) continue;
    b_->add_output(value, shape_of(blob));
    report_->outputs.push_back(value);
  }
  if (report_->outputs.empty()) {
    return Status::invalid_argument("net '" + config_.name + "' has no output to export");
  }
  return Status::success();
}

Status OnnxLayerWriter::emit(size_t i, size_t* used) {
  const LayerConfig& l = *layers_[i];
  const std::string& t = l.type;
  *used = 1;
  if (t == "Input") return input_layer(l);
  if (t == "Convolution") return convolution(i, used);
  if (t == "Pooling") return pooling(l);
  if (t == "InnerProduct") return inner_product(l);
  if (t == "Eltwise") return eltwise(l);
  if (t == "BatchNorm") return batch_norm(i, used);
  if (t == "Scale") return scale(l);
  if (t == "LRN" && l.lrn.norm_region == LrnConfig::NormRegion::kWithinChannel) {
    return lrn_within_channel(l);
  }
  if (t == "ReLU" || t == "LRN" || t == "Softmax" || t == "Concat" || t == "Flatten") {
    return simple(l);
  }
  if (t == "Sigmoid" || t == "TanH" || t == "AbsVal" || t == "BNLL" || t == "ELU" || t == "PReLU" ||
      t == "Reshape" || t == "Swish" || t == "Power" || t == "Exp" || t == "Log" || t == "Bias") {
    return elementwise(l);
  }
  if (t == "Clip") {
    return refuse(l,
                  "ONNX's Clip (opset 11 on) takes min and max as inputs, which OpenCV 4.6, the "
                  "runtime exports are checked with, does not read; Min/Max or ReLU forms round "
                  "differently, so Clip is not exported");
  }
  if (t == "MVN") {
    return refuse(l,
                  "OpenCV 4.6, the runtime exports are checked with, cannot run its "
                  "ReduceMean/Sub form, and ONNX's MeanVarianceNormalization has no eps; "
                  "MVN is not exported");
  }
  if (t == "Deconvolution") return deconvolution(l);
  if (t == "Crop") return crop(l);
  if (t == "Slice") return slice(l);
  if (t == "Tile") return tile(l);
  if (t == "ArgMax") return argmax(l);
  if (t == "Reduction") return reduction(l);
  if (t == "Silence") {  // reads its bottoms so they are not graph outputs; writes nothing
    std::string value;
    for (const std::string& bottom : l.bottom) BANYAN_RETURN_IF_ERROR(read(l, bottom, &value));
    report_->notes.push_back(l.name + ": Silence removed");
    return Status::success();
  }
  if (t == "Dropout" || t == "Split") {  // identity at inference
    std::string value;
    BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &value));
    reads_[value]--;  // an alias is not a reader
    for (const std::string& top : l.top) latest_[top] = value;
    report_->notes.push_back(l.name + ": " + t + " removed");
    return Status::success();
  }
  if (t == "Data") return refuse(l, "a deploy net starts with Input layers, not Data");
  if ((t.size() > 4 && t.compare(t.size() - 4, 4, "Loss") == 0) || t == "Accuracy" ||
      t.find("Data") != std::string::npos) {
    return refuse(l,
                  "no faithful ONNX form (loss, accuracy and data layers belong to the "
                  "train net; export a deploy net)");
  }
  return refuse(
      l, "layers of type " + t +
             " are not exported yet (docs/design-notes.md, \"Export\", lists the exported types)");
}

Status OnnxLayerWriter::input_layer(const LayerConfig& l) {
  for (size_t k = 0; k < l.top.size(); ++k) {
    const Shape shape = shape_of(l.top[k]);
    const std::string value = write_blob(l.top[k]);
    reads_[value] = 1;  // graph inputs are never outputs
    b_->add_input(value, shape);
    report_->inputs.push_back(value);
  }
  return Status::success();
}

Status OnnxLayerWriter::convolution(size_t i, size_t* used) {
  const LayerConfig& l = *layers_[i];
  const ConvolutionConfig& c = l.convolution;
  if (c.axis != 1) return refuse(l, "axis must be 1 (NCHW)");
  std::string x;
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &x));
  Shape w_shape, b_shape({c.num_output});
  std::vector<float> w, bias(c.num_output, 0.0f);
  BANYAN_RETURN_IF_ERROR(param(l, 0, &w_shape, &w));
  if (c.bias_term) BANYAN_RETURN_IF_ERROR(param(l, 1, &b_shape, &bias));
  const LayerConfig* last = &l;
  if (absorbable(i + 1, l.top[0], "BatchNorm")) {
    Affine a;
    BANYAN_RETURN_IF_ERROR(read_affine(i + 1, &a, used));
    ++*used;
    const int64_t per_k = w_shape.count(1);
    for (int k = 0; k < c.num_output; ++k) {
      const double s = a.gamma[k] / std::sqrt(static_cast<double>(a.var[k]) + a.eps);
      for (int64_t j = 0; j < per_k; ++j)
        w[k * per_k + j] = static_cast<float>(w[k * per_k + j] * s);
      bias[k] = static_cast<float>(s * (bias[k] - a.mean[k]) + a.beta[k]);
    }
    last = layers_[i + *used - 1];
    std::string note = l.name + ": ";
    for (size_t j = i + 1; j < i + *used; ++j)
      note += layers_[j]->name + (j + 1 < i + *used ? ", " : "");
    report_->notes.push_back(note + " folded into the convolution");
  }
  const LayerConfig* after = layers_.size() > i + *used ? layers_[i + *used] : nullptr;
  if (after != nullptr && absorbable(i + *used, last->top[0], "Bias") && after->bias.axis == 1 &&
      after->bias.num_axes == 1) {
    // A Bias right after the convolution (one bottom, per channel) adds to
    // its B (OpenCV 4.6 was seen to run Conv followed by such an Add wrongly).
    Shape p_shape;
    std::vector<float> extra;
    BANYAN_RETURN_IF_ERROR(param(*after, 0, &p_shape, &extra));
    for (int k = 0; k < c.num_output; ++k) bias[k] += extra[k];
    last = after;
    ++*used;
    report_->notes.push_back(l.name + ": " + after->name + " folded into the convolution");
  }
  std::vector<std::string> inputs = {x, b_->add_initializer(l.name + "_W", w_shape, w)};
  if (c.bias_term || last != &l)
    inputs.push_back(b_->add_initializer(l.name + "_B", b_shape, bias));
  onnx::NodeProto* n = b_->add_node("Conv", l.name, inputs, {write(*last, 0)});
  b_->set_ints(n, "kernel_shape", {c.kernel_h, c.kernel_w});
  b_->set_ints(n, "strides", {c.stride_h, c.stride_w});
  b_->set_ints(n, "pads", pads4(c.pad_h, c.pad_w));
  b_->set_ints(n, "dilations", {c.dilation_h, c.dilation_w});
  b_->set_int(n, "group", c.group);
  return Status::success();
}

Status OnnxLayerWriter::pooling(const LayerConfig& l) {
  const PoolingConfig& p = l.pooling;
  const bool max = p.pool == PoolingConfig::Method::kMax;
  std::string x;
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &x));
  const Shape in = shape_of(l.bottom[0]), out = shape_of(l.top[0]);
  if (p.global_pooling) {
    b_->add_node(max ? "GlobalMaxPool" : "GlobalAveragePool", l.name, {x}, {write(l, 0)});
    return Status::success();
  }
  const bool ceil_mode = p.round_mode == PoolingConfig::RoundMode::kCeil;
  const int64_t oh = onnx_pooled(in.dim(2), p.kernel_h, p.pad_h, p.stride_h, ceil_mode);
  const int64_t ow = onnx_pooled(in.dim(3), p.kernel_w, p.pad_w, p.stride_w, ceil_mode);
  if (oh != out.dim(2) || ow != out.dim(3)) {
    return refuse(l, "Caffe's output " + out.to_string() +
                         " drops a last window that starts in "
                         "the padding; ONNX's would be " +
                         std::to_string(oh) + "x" + std::to_string(ow));
  }
  if ((oh - 1) * p.stride_h - p.pad_h >= in.dim(2) ||
      (ow - 1) * p.stride_w - p.pad_w >= in.dim(3)) {
    return refuse(l,
                  "a window lies wholly outside the input (stride larger than the kernel): "
                  "Caffe outputs 0 there, ONNX does not");
  }
  const bool padded = p.pad_h > 0 || p.pad_w > 0;
  if (!max && padded) {
    // Caffe's divisor is the window clipped to the padded input: zero-pad
    // explicitly, then average over in-bounds elements (count_include_pad 0).
    const std::string pads = b_->add_int64_initializer(
        l.name + "_pads", {0, 0, p.pad_h, p.pad_w, 0, 0, p.pad_h, p.pad_w});
    const std::string padded_x = b_->unique_name(l.name + "_padded");
    b_->add_node("Pad", l.name + "_pad", {x, pads}, {padded_x});
    x = padded_x;
  }
  onnx::NodeProto* n = b_->add_node(max ? "MaxPool" : "AveragePool", l.name, {x}, {write(l, 0)});
  b_->set_ints(n, "kernel_shape", {p.kernel_h, p.kernel_w});
  b_->set_ints(n, "strides", {p.stride_h, p.stride_w});
  b_->set_ints(n, "pads", max ? pads4(p.pad_h, p.pad_w) : pads4(0, 0));
  b_->set_int(n, "ceil_mode", ceil_mode ? 1 : 0);
  if (!max) b_->set_int(n, "count_include_pad", 0);
  return Status::success();
}

Status OnnxLayerWriter::inner_product(const LayerConfig& l) {
  const InnerProductConfig& c = l.inner_product;
  if (c.axis != 1) return refuse(l, "axis must be 1 (Flatten + Gemm gives a 2-D output)");
  std::string x;
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &x));
  const std::string flat = b_->unique_name(l.name + "_flat");
  b_->set_int(b_->add_node("Flatten", l.name + "_flatten", {x}, {flat}), "axis", 1);
  Shape w_shape, b_shape;
  std::vector<float> w, bias;
  BANYAN_RETURN_IF_ERROR(param(l, 0, &w_shape, &w));
  std::vector<std::string> inputs = {flat, b_->add_initializer(l.name + "_W", w_shape, w)};
  if (c.bias_term) {
    BANYAN_RETURN_IF_ERROR(param(l, 1, &b_shape, &bias));
    inputs.push_back(b_->add_initializer(l.name + "_B", b_shape, bias));
  }
  onnx::NodeProto* n = b_->add_node("Gemm", l.name, inputs, {write(l, 0)});
  b_->set_int(n, "transB", c.transpose ? 0 : 1);  // Caffe's W is (N_out, K_in)
  return Status::success();
}

Status OnnxLayerWriter::eltwise(const LayerConfig& l) {
  const EltwiseConfig& c = l.eltwise;
  std::vector<std::string> xs(l.bottom.size());
  for (size_t k = 0; k < xs.size(); ++k) BANYAN_RETURN_IF_ERROR(read(l, l.bottom[k], &xs[k]));
  if (c.operation == EltwiseConfig::Op::kProd) {
    std::string acc = xs[0];
    for (size_t k = 1; k < xs.size(); ++k) {
      const std::string out = k + 1 == xs.size() ? write(l, 0) : b_->unique_name(l.name + "_prod");
      b_->add_node("Mul", l.name, {acc, xs[k]}, {out});
      acc = out;
    }
    return Status::success();
  }
  if (c.operation == EltwiseConfig::Op::kSum) {
    for (size_t k = 0; k < xs.size() && k < c.coeff.size(); ++k) {
      if (c.coeff[k] == 1.0f) continue;
      const std::string coeff = b_->add_initializer(l.name + "_coeff", Shape({1}), {c.coeff[k]});
      const std::string scaled = b_->unique_name(l.name + "_scaled");
      b_->add_node("Mul", l.name + "_coeff", {xs[k], coeff}, {scaled});
      xs[k] = scaled;
    }
  }
  b_->add_node(c.operation == EltwiseConfig::Op::kSum ? "Sum" : "Max", l.name, xs, {write(l, 0)});
  return Status::success();
}

Status OnnxLayerWriter::batch_norm(size_t i, size_t* used) {
  const LayerConfig& l = *layers_[i];
  std::string x;
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &x));
  Affine a;
  BANYAN_RETURN_IF_ERROR(read_affine(i, &a, used));
  const Shape c({static_cast<int64_t>(a.mean.size())});
  std::vector<std::string> inputs = {x, b_->add_initializer(l.name + "_scale", c, a.gamma),
                                     b_->add_initializer(l.name + "_bias", c, a.beta),
                                     b_->add_initializer(l.name + "_mean", c, a.mean),
                                     b_->add_initializer(l.name + "_var", c, a.var)};
  const LayerConfig& last = *layers_[i + *used - 1];
  if (*used > 1) report_->notes.push_back(last.name + ": folded into BatchNormalization");
  onnx::NodeProto* n = b_->add_node("BatchNormalization", l.name, inputs, {write(last, 0)});
  b_->set_float(n, "epsilon", a.eps);
  return Status::success();
}

Status OnnxLayerWriter::scale(const LayerConfig& l) {
  const ScaleConfig& c = l.scale;
  if (l.bottom.size() != 1 || c.axis != 1 || c.num_axes != 1) {
    return refuse(l, "only one bottom with axis 1 and num_axes 1 is exported");
  }
  std::string x;
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &x));
  Shape p_shape;
  std::vector<float> gamma, beta;
  BANYAN_RETURN_IF_ERROR(param(l, 0, &p_shape, &gamma));
  const std::string g = per_channel(l, "gamma", gamma);
  if (!c.bias_term) {
    b_->add_node("Mul", l.name, {x, g}, {write(l, 0)});
    return Status::success();
  }
  BANYAN_RETURN_IF_ERROR(param(l, 1, &p_shape, &beta));
  const std::string scaled = b_->unique_name(l.name + "_scaled");
  b_->add_node("Mul", l.name + "_mul", {x, g}, {scaled});
  const std::string bb = per_channel(l, "beta", beta);
  b_->add_node("Add", l.name, {scaled, bb}, {write(l, 0)});
  return Status::success();
}

Status OnnxLayerWriter::simple(const LayerConfig& l) {
  const std::string& t = l.type;
  std::vector<std::string> xs(l.bottom.size());
  for (size_t k = 0; k < xs.size(); ++k) BANYAN_RETURN_IF_ERROR(read(l, l.bottom[k], &xs[k]));
  if (t == "Flatten") {
    const int rank = shape_of(l.bottom[0]).num_axes();
    if (l.flatten.axis != 1 || (l.flatten.end_axis != -1 && l.flatten.end_axis != rank - 1)) {
      return refuse(l, "only axis 1 through the last axis is exported (ONNX Flatten is 2-D)");
    }
  }
  const bool leaky = t == "ReLU" && l.relu.negative_slope != 0.0f;
  const std::string op = leaky ? "LeakyRelu" : t == "ReLU" ? "Relu" : t;
  onnx::NodeProto* n = b_->add_node(op, l.name, xs, {write(l, 0)});
  if (leaky) b_->set_float(n, "alpha", l.relu.negative_slope);
  if (t == "Softmax") b_->set_int(n, "axis", l.softmax.axis);
  if (t == "Concat") b_->set_int(n, "axis", l.concat.axis);
  if (t == "Flatten") b_->set_int(n, "axis", 1);
  if (t == "LRN") {  // both divide alpha by the window size
    b_->set_int(n, "size", l.lrn.local_size);
    b_->set_float(n, "alpha", l.lrn.alpha);
    b_->set_float(n, "beta", l.lrn.beta);
    b_->set_float(n, "bias", l.lrn.k);
  }
  return Status::success();
}

Status OnnxLayerWriter::read_affine(size_t i, Affine* a, size_t* used) {
  const LayerConfig& l = *layers_[i];
  if (l.batch_norm.use_global_stats.has_value() && !*l.batch_norm.use_global_stats) {
    return refuse(l, "use_global_stats: false normalises with batch statistics at inference");
  }
  Shape shape, factor_shape;
  std::vector<float> factor;
  BANYAN_RETURN_IF_ERROR(param(l, 0, &shape, &a->mean));
  BANYAN_RETURN_IF_ERROR(param(l, 1, &shape, &a->var));
  BANYAN_RETURN_IF_ERROR(param(l, 2, &factor_shape, &factor));
  const float s = factor[0] == 0.0f ? 1.0f : 1.0f / factor[0];  // as BatchNormLayer
  for (float& v : a->mean) v *= s;
  for (float& v : a->var) v *= s;
  a->eps = l.batch_norm.eps;
  a->gamma.assign(a->mean.size(), 1.0f);
  a->beta.assign(a->mean.size(), 0.0f);
  *used = 1;
  if (!absorbable(i + 1, l.top[0], "Scale")) return Status::success();
  const LayerConfig& sc = *layers_[i + 1];
  if (sc.bottom.size() != 1 || sc.scale.axis != 1 || sc.scale.num_axes != 1) {
    return Status::success();
  }
  BANYAN_RETURN_IF_ERROR(param(sc, 0, &shape, &a->gamma));
  if (sc.scale.bias_term) BANYAN_RETURN_IF_ERROR(param(sc, 1, &shape, &a->beta));
  *used = 2;
  return Status::success();
}

bool OnnxLayerWriter::absorbable(size_t j, const std::string& blob, const char* type) const {
  if (j >= layers_.size() || layers_[j]->type != type || layers_[j]->bottom.size() != 1 ||
      layers_[j]->bottom[0] != blob) {
    return false;
  }
  if (layers_[j]->top[0] == blob) return true;  // in place: later readers see its output
  for (size_t k = j + 1; k < layers_.size(); ++k) {
    for (const std::string& b : layers_[k]->bottom) {
      if (b == blob) return false;
    }
  }
  return true;
}

Status OnnxLayerWriter::read(const LayerConfig& l, const std::string& blob, std::string* value) {
  auto it = latest_.find(blob);
  if (it == latest_.end())
    return refuse(l, "bottom '" + blob + "' is produced by no layer before it");
  *value = it->second;
  reads_[*value]++;
  return Status::success();
}

std::string OnnxLayerWriter::write(const LayerConfig& l, int top_index) {
  return write_blob(l.top[top_index]);
}

std::string OnnxLayerWriter::write_blob(const std::string& blob) {
  const std::string value = b_->unique_name(blob);
  latest_[blob] = value;
  produced_.push_back({value, blob});
  return value;
}

Status OnnxLayerWriter::param(const LayerConfig& l, int index, Shape* shape,
                              std::vector<float>* values) const {
  const NetParam* p = net_.find_param(l.name + "/" + std::to_string(index));
  if (p == nullptr) return refuse(l, "parameter " + std::to_string(index) + " is missing");
  if (!p->blob->device().is_cpu()) return refuse(l, "weights must be on the CPU for export");
  *shape = p->blob->shape();
  values->assign(p->master, p->master + shape->count());
  return Status::success();
}

Shape OnnxLayerWriter::shape_of(const std::string& blob) const {
  const Blob* b = net_.blob(blob);
  CHECK(b != nullptr) << "blob '" << blob << "' missing from net '" << net_.name() << "'";
  return b->shape();
}

Status OnnxLayerWriter::refuse(const LayerConfig& l, const std::string& why) const {
  return Status::unimplemented(l.location.to_string() + ": layer '" + l.name + "' (" + l.type +
                               "): cannot export to ONNX: " + why);
}

}  // namespace banyan
