// ONNX forms of Deconvolution (ConvTranspose: Caffe's weight layout
// (C_in, C_out / group, kh, kw) and output size are ONNX's with no output
// padding), Crop and Slice (Slice nodes with constant starts and ends),
// Tile (Concat), ArgMax (with an axis, top 1, indices: ArgMax + Cast) and
// Reduction (ReduceMean x count / ReduceL1 / ReduceSumSquare / ReduceMean
// over the trailing axes, times coeff).
#include "engine/export/onnx_layers.h"

namespace banyan {

Status OnnxLayerWriter::deconvolution(const LayerConfig& l) {
  const ConvolutionConfig& c = l.convolution;
  if (c.axis != 1) return refuse(l, "axis must be 1 (NCHW)");
  std::string x;
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &x));
  Shape w_shape, b_shape;
  std::vector<float> w, bias;
  BANYAN_RETURN_IF_ERROR(param(l, 0, &w_shape, &w));
  std::vector<std::string> inputs = {x, b_->add_initializer(l.name + "_W", w_shape, w)};
  if (c.bias_term) {
    BANYAN_RETURN_IF_ERROR(param(l, 1, &b_shape, &bias));
    inputs.push_back(b_->add_initializer(l.name + "_B", b_shape, bias));
  }
  onnx::NodeProto* n = last(l, "ConvTranspose", inputs);
  b_->set_ints(n, "kernel_shape", {c.kernel_h, c.kernel_w});
  b_->set_ints(n, "strides", {c.stride_h, c.stride_w});
  b_->set_ints(n, "pads", {c.pad_h, c.pad_w, c.pad_h, c.pad_w});
  b_->set_ints(n, "dilations", {c.dilation_h, c.dilation_w});
  b_->set_int(n, "group", c.group);
  return Status::success();
}

Status OnnxLayerWriter::crop(const LayerConfig& l) {
  std::string x, reference;
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &x));
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[1], &reference));  // its shape only
  const Shape in = shape_of(l.bottom[0]), out = shape_of(l.top[0]);
  std::vector<int64_t> starts, ends, axes;
  for (int a = 0; a < in.num_axes(); ++a) {
    if (out.dim(a) == in.dim(a)) continue;
    // The offset of axis a: out = in[offset, offset + size) along it.
    const int first = l.crop.axis < 0 ? l.crop.axis + in.num_axes() : l.crop.axis;
    const int64_t offset =
        a < first
            ? 0
            : (l.crop.offset.empty()
                   ? 0
                   : (l.crop.offset.size() == 1 ? l.crop.offset[0] : l.crop.offset[a - first]));
    starts.push_back(offset);
    ends.push_back(offset + out.dim(a));
    axes.push_back(a);
  }
  if (axes.empty()) {
    last(l, "Identity", {x});
    return Status::success();
  }
  last(l, "Slice",
       {x, b_->add_int64_initializer(l.name + "_starts", starts),
        b_->add_int64_initializer(l.name + "_ends", ends),
        b_->add_int64_initializer(l.name + "_axes", axes)});
  return Status::success();
}

Status OnnxLayerWriter::slice(const LayerConfig& l) {
  std::string x;
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &x));
  const Shape in = shape_of(l.bottom[0]);
  const int axis = l.slice.axis < 0 ? l.slice.axis + in.num_axes() : l.slice.axis;
  int64_t begin = 0;
  for (size_t k = 0; k < l.top.size(); ++k) {
    const int64_t end = begin + shape_of(l.top[k]).dim(axis);
    b_->add_node("Slice", k == 0 ? l.name : l.name + "_" + std::to_string(k),
                 {x, b_->add_int64_initializer(l.name + "_starts", {begin}),
                  b_->add_int64_initializer(l.name + "_ends", {end}),
                  b_->add_int64_initializer(l.name + "_axes", {axis})},
                 {write(l, static_cast<int>(k))});
    begin = end;
  }
  return Status::success();
}

Status OnnxLayerWriter::tile(const LayerConfig& l) {
  std::string x;
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &x));
  const Shape in = shape_of(l.bottom[0]);
  const int axis = l.tile.axis < 0 ? l.tile.axis + in.num_axes() : l.tile.axis;
  // `tiles` copies side by side along the axis: a Concat of the input with
  // itself (exact; OpenCV 4.6 has no Tile).
  b_->set_int(last(l, "Concat", std::vector<std::string>(l.tile.tiles, x)), "axis", axis);
  return Status::success();
}

Status OnnxLayerWriter::argmax(const LayerConfig& l) {
  const ArgMaxConfig& c = l.argmax;
  if (!c.axis.has_value() || c.top_k != 1 || c.out_max_val) {
    return refuse(l, "only an explicit axis with top_k 1 and indices (no out_max_val) is exported");
  }
  std::string x;
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &x));
  const int rank = shape_of(l.bottom[0]).num_axes();
  onnx::NodeProto* n = nullptr;
  const std::string index = node(l, "ArgMax", {x}, &n);
  b_->set_int(n, "axis", *c.axis < 0 ? *c.axis + rank : *c.axis);
  b_->set_int(n, "keepdims", 1);
  b_->set_int(n, "select_last_index", 0);          // ties: the lowest index, as the layer
  b_->set_int(last(l, "Cast", {index}), "to", 1);  // FLOAT
  return Status::success();
}

Status OnnxLayerWriter::reduction(const LayerConfig& l) {
  const ReductionConfig& c = l.reduction;
  std::string x;
  BANYAN_RETURN_IF_ERROR(read(l, l.bottom[0], &x));
  const int rank = shape_of(l.bottom[0]).num_axes();
  const int first = c.axis < 0 ? c.axis + rank : c.axis;
  if (first == 0) return refuse(l, "axis 0 reduces to a scalar, which is not exported");
  std::vector<int64_t> axes;
  for (int a = first; a < rank; ++a) axes.push_back(a);
  using Op = ReductionConfig::Op;
  // SUM is ReduceMean times the count: opset 13 moved ReduceSum's axes to
  // an input, which OpenCV 4.6 does not read (the others keep the
  // attribute until opset 18).
  const char* op = c.operation == Op::kAsum    ? "ReduceL1"
                   : c.operation == Op::kSumSq ? "ReduceSumSquare"
                                               : "ReduceMean";
  const Shape in = shape_of(l.bottom[0]);
  const float factor =
      c.operation == Op::kSum ? c.coeff * static_cast<float>(in.count(first)) : c.coeff;
  onnx::NodeProto* n = nullptr;
  const std::string reduced = factor != 1.0f ? node(l, op, {x}, &n) : "";
  if (factor == 1.0f) n = last(l, op, {x});
  b_->set_ints(n, "axes", axes);
  b_->set_int(n, "keepdims", 0);
  if (factor != 1.0f) last(l, "Mul", {reduced, constant(l, "coeff", factor)});
  return Status::success();
}

}  // namespace banyan
