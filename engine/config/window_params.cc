// Convolution and pooling windows from their Caffe spellings.  A setting is
// written as one value (both axes), two values (h, w; convolution only) or the
// *_h/*_w pair, never two ways at once.  The fields are read by name through
// protobuf reflection so one resolver serves both messages.
#include <string>

#include "engine/config/layer_params.h"

namespace banyan::config_internal {
namespace {

namespace gpb = google::protobuf;

// One spatial setting and its spellings.
struct SpatialField {
  const char* name;    // "kernel_size": repeated (convolution) or single (pooling)
  const char* name_h;  // "kernel_h", or nullptr when there is no *_h/*_w form
  const char* name_w;
  bool hw_together;   // *_h and *_w must both be given (kernel, stride)
  int default_value;  // when nothing is written; -1: required
  int min_value;      // 1 for kernel/stride/dilation, 0 for pad
};

struct HW {
  int h = 0, w = 0;
  bool written = false;
};

std::string bound(int min_value) { return min_value > 0 ? "must be > 0" : "must be >= 0"; }

Status check_min(const Scope& s, const char* field, int index, int value, int min_value) {
  if (value >= min_value) return Status::success();
  return s.invalid(field, bound(min_value) + ", got " + std::to_string(value), index);
}

// Reads the *_h/*_w form of `f`, already known to be (partly) written.
Status resolve_hw(const gpb::Message& m, const Scope& s, const SpatialField& f, HW* out) {
  const gpb::Reflection* r = m.GetReflection();
  const gpb::FieldDescriptor* fh = m.GetDescriptor()->FindFieldByName(f.name_h);
  const gpb::FieldDescriptor* fw = m.GetDescriptor()->FindFieldByName(f.name_w);
  const bool has_h = r->HasField(m, fh), has_w = r->HasField(m, fw);
  if (f.hw_together && !(has_h && has_w)) {
    const char* given = has_h ? f.name_h : f.name_w;
    const char* missing = has_h ? f.name_w : f.name_h;
    return s.invalid(given, std::string("is given without ") + missing + "; give both");
  }
  out->h = r->GetInt32(m, fh);
  out->w = r->GetInt32(m, fw);
  out->written = true;
  BANYAN_RETURN_IF_ERROR(check_min(s, f.name_h, -1, out->h, f.min_value));
  return check_min(s, f.name_w, -1, out->w, f.min_value);
}

// Resolves `f` of message `m` into h and w (see the file comment).
Status resolve_spatial(const gpb::Message& m, const Scope& s, const SpatialField& f, HW* out) {
  const gpb::Reflection* r = m.GetReflection();
  const gpb::FieldDescriptor* fd = m.GetDescriptor()->FindFieldByName(f.name);
  const int count = fd->is_repeated() ? r->FieldSize(m, fd) : (r->HasField(m, fd) ? 1 : 0);
  auto value = [&](int i) {
    return fd->is_repeated() ? r->GetRepeatedInt32(m, fd, i) : r->GetInt32(m, fd);
  };
  const int index0 = fd->is_repeated() ? 0 : -1;
  bool has_hw = false;
  if (f.name_h != nullptr) {
    const gpb::Descriptor* d = m.GetDescriptor();
    has_hw = r->HasField(m, d->FindFieldByName(f.name_h)) ||
             r->HasField(m, d->FindFieldByName(f.name_w));
  }
  if (has_hw && count > 0) {
    const bool h = r->HasField(m, m.GetDescriptor()->FindFieldByName(f.name_h));
    return s.invalid(h ? f.name_h : f.name_w,
                     std::string("and ") + f.name + " are both given; use one or the other");
  }
  if (has_hw) return resolve_hw(m, s, f, out);
  if (count == 0) {
    out->h = out->w = f.default_value;
    return Status::success();
  }
  if (count > 2) {
    return s.unsupported(f.name,
                         "has " + std::to_string(count) +
                             " values; only 2-D windows are supported (1 value, or 2 "
                             "for h and w)",
                         2);
  }
  out->written = true;
  out->h = value(0);
  out->w = count == 2 ? value(1) : out->h;
  BANYAN_RETURN_IF_ERROR(check_min(s, f.name, index0, out->h, f.min_value));
  return check_min(s, f.name, count == 2 ? 1 : index0, out->w, f.min_value);
}

Status convolution_shape(const pb::ConvolutionParameter& p, const Scope& s,
                         ConvolutionConfig* out) {
  HW kernel, pad, stride, dilation;
  BANYAN_RETURN_IF_ERROR(
      resolve_spatial(p, s, {"kernel_size", "kernel_h", "kernel_w", true, -1, 1}, &kernel));
  if (!kernel.written) {
    return s.invalid("kernel_size", "is required (or kernel_h and kernel_w)");
  }
  BANYAN_RETURN_IF_ERROR(resolve_spatial(p, s, {"pad", "pad_h", "pad_w", false, 0, 0}, &pad));
  BANYAN_RETURN_IF_ERROR(
      resolve_spatial(p, s, {"stride", "stride_h", "stride_w", true, 1, 1}, &stride));
  BANYAN_RETURN_IF_ERROR(
      resolve_spatial(p, s, {"dilation", nullptr, nullptr, false, 1, 1}, &dilation));
  out->kernel_h = kernel.h;
  out->kernel_w = kernel.w;
  out->pad_h = pad.h;
  out->pad_w = pad.w;
  out->stride_h = stride.h;
  out->stride_w = stride.w;
  out->dilation_h = dilation.h;
  out->dilation_w = dilation.w;
  return Status::success();
}

}  // namespace

Status convert_convolution(const pb::ConvolutionParameter& p, const Scope& s,
                           ConvolutionConfig* out) {
  if (p.num_output() <= 0) {
    return s.invalid("num_output", "must be > 0, got " + std::to_string(p.num_output()));
  }
  if (p.group() <= 0) return s.invalid("group", "must be > 0, got " + std::to_string(p.group()));
  if (p.num_output() % p.group() != 0) {
    return s.invalid("group", "must divide num_output (" + std::to_string(p.num_output()) +
                                  "), got " + std::to_string(p.group()));
  }
  BANYAN_RETURN_IF_ERROR(convolution_shape(p, s, out));
  out->num_output = p.num_output();
  out->bias_term = p.bias_term();
  out->group = p.group();
  out->axis = p.axis();
  BANYAN_RETURN_IF_ERROR(
      convert_filler(p.weight_filler(), s.nested("weight_filler"), &out->weight_filler));
  BANYAN_RETURN_IF_ERROR(
      convert_filler(p.bias_filler(), s.nested("bias_filler"), &out->bias_filler));
  if (p.has_engine()) s.ignored("engine", "the implementation is chosen per device");
  if (p.has_force_nd_im2col()) s.ignored("force_nd_im2col", "only 2-D convolution exists");
  return Status::success();
}

Status convert_pooling(const pb::PoolingParameter& p, const Scope& s, PoolingConfig* out) {
  if (p.pool() == pb::PoolingParameter::STOCHASTIC) {
    return s.unsupported("pool", "STOCHASTIC is not supported; use MAX or AVE");
  }
  HW kernel, pad, stride;
  BANYAN_RETURN_IF_ERROR(
      resolve_spatial(p, s, {"kernel_size", "kernel_h", "kernel_w", true, 0, 1}, &kernel));
  BANYAN_RETURN_IF_ERROR(resolve_spatial(p, s, {"pad", "pad_h", "pad_w", false, 0, 0}, &pad));
  BANYAN_RETURN_IF_ERROR(
      resolve_spatial(p, s, {"stride", "stride_h", "stride_w", true, 1, 1}, &stride));
  if (p.global_pooling()) {
    if (kernel.written) {
      return s.invalid("global_pooling", "pools the whole input; do not also give a kernel size");
    }
    if (pad.h != 0 || pad.w != 0 || stride.h != 1 || stride.w != 1) {
      return s.invalid("global_pooling", "needs pad 0 and stride 1, got pad " +
                                             std::to_string(pad.h) + " and stride " +
                                             std::to_string(stride.h));
    }
  } else {
    if (!kernel.written) return s.invalid("kernel_size", "is required (or kernel_h and kernel_w)");
    if (pad.h >= kernel.h || pad.w >= kernel.w) {
      return s.invalid(p.has_pad() ? "pad" : (pad.h >= kernel.h ? "pad_h" : "pad_w"),
                       "must be smaller than the kernel (" + std::to_string(kernel.h) + "x" +
                           std::to_string(kernel.w) + "), got " + std::to_string(pad.h) + "x" +
                           std::to_string(pad.w));
    }
  }
  out->pool = p.pool() == pb::PoolingParameter::AVE ? PoolingConfig::Method::kAve
                                                    : PoolingConfig::Method::kMax;
  out->kernel_h = kernel.h;
  out->kernel_w = kernel.w;
  out->pad_h = pad.h;
  out->pad_w = pad.w;
  out->stride_h = stride.h;
  out->stride_w = stride.w;
  out->global_pooling = p.global_pooling();
  out->round_mode = p.round_mode() == pb::PoolingParameter::FLOOR ? PoolingConfig::RoundMode::kFloor
                                                                  : PoolingConfig::RoundMode::kCeil;
  if (p.has_engine()) s.ignored("engine", "the implementation is chosen per device");
  return Status::success();
}

}  // namespace banyan::config_internal
