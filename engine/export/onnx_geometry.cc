// ONNX forms of Deconvolution (ConvTranspose: Caffe's weight layout
// (C_in, C_out / group, kh, kw) and output size are ONNX's with no output
// padding) and Crop (Slice with constant starts and ends).
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

}  // namespace banyan
