// The *_param messages of the layers that move, cut, join or reduce values
// without parameters (Crop, Slice, Reshape, Tile, Reduction, ArgMax):
// values checked here as far as they can be without the bottoms' shapes;
// the layers' setup checks the rest against the shapes.
#include <cmath>
#include <string>

#include "engine/config/layer_params.h"

namespace banyan::config_internal {
namespace {

Status convert_crop(const pb::CropParameter& p, const Scope& s, CropConfig* out) {
  out->offset.clear();
  for (int i = 0; i < p.offset_size(); ++i) {
    if (p.offset(i) < 0) {
      return s.invalid("offset", "must be >= 0, got " + std::to_string(p.offset(i)), i);
    }
    out->offset.push_back(p.offset(i));
  }
  out->axis = p.axis();
  return Status::success();
}

Status convert_slice(const pb::SliceParameter& p, const Scope& s, SliceConfig* out) {
  if (p.has_axis() && p.has_slice_dim()) {
    return s.invalid("slice_dim", "and axis are both given; use axis");
  }
  if (p.has_slice_dim() && p.slice_dim() < 0) {
    return s.invalid("slice_dim", "must be >= 0 (it does not count from the end), got " +
                                      std::to_string(p.slice_dim()));
  }
  out->axis = p.has_slice_dim() ? p.slice_dim() : p.axis();
  out->slice_point.clear();
  for (int i = 0; i < p.slice_point_size(); ++i) {
    const int64_t v = p.slice_point(i);
    const int64_t prev = i == 0 ? 0 : p.slice_point(i - 1);
    if (v <= prev) {
      const std::string bound = i == 0 ? "0" : "the previous point " + std::to_string(prev);
      return s.invalid("slice_point",
                       std::to_string(v) + " must be > " + bound +
                           " (points increase strictly; every slice is non-empty)",
                       i);
    }
    out->slice_point.push_back(v);
  }
  return Status::success();
}

Status convert_reshape(const pb::ReshapeParameter& p, const Scope& s, ReshapeConfig* out) {
  out->shape.clear();
  int inferred = -1;
  const Scope shape = s.nested("shape");
  for (int i = 0; i < p.shape().dim_size(); ++i) {
    const int64_t d = p.shape().dim(i);
    if (d < -1) {
      return shape.invalid(
          "dim", "must be > 0, 0 (copy the bottom's) or -1 (infer), got " + std::to_string(d), i);
    }
    if (d == -1 && inferred >= 0) {
      return shape.invalid("dim",
                           "-1 is given twice (dims " + std::to_string(inferred) + " and " +
                               std::to_string(i) + "); at most one dimension can be inferred",
                           i);
    }
    if (d == -1) inferred = i;
    out->shape.push_back(d);
  }
  if (p.num_axes() < -1) {
    return s.invalid("num_axes", "must be >= -1, got " + std::to_string(p.num_axes()));
  }
  out->axis = p.axis();
  out->num_axes = p.num_axes();
  return Status::success();
}

Status convert_tile(const pb::TileParameter& p, const Scope& s, TileConfig* out) {
  if (!p.has_tiles()) return s.invalid("tiles", "is required (the number of copies, > 0)");
  if (p.tiles() <= 0) return s.invalid("tiles", "must be > 0, got " + std::to_string(p.tiles()));
  out->axis = p.axis();
  out->tiles = p.tiles();
  return Status::success();
}

Status convert_reduction(const pb::ReductionParameter& p, const Scope& s, ReductionConfig* out) {
  if (!std::isfinite(p.coeff())) return s.invalid("coeff", "must be finite, got " + num(p.coeff()));
  switch (p.operation()) {
    case pb::ReductionParameter::SUM:
      out->operation = ReductionConfig::Op::kSum;
      break;
    case pb::ReductionParameter::ASUM:
      out->operation = ReductionConfig::Op::kAsum;
      break;
    case pb::ReductionParameter::SUMSQ:
      out->operation = ReductionConfig::Op::kSumSq;
      break;
    case pb::ReductionParameter::MEAN:
      out->operation = ReductionConfig::Op::kMean;
      break;
  }
  out->axis = p.axis();
  out->coeff = p.coeff();
  return Status::success();
}

Status convert_argmax(const pb::ArgMaxParameter& p, const Scope& s, ArgMaxConfig* out) {
  if (p.top_k() < 1) return s.invalid("top_k", "must be >= 1, got " + std::to_string(p.top_k()));
  out->out_max_val = p.out_max_val();
  out->top_k = p.top_k();
  out->axis.reset();
  if (p.has_axis()) out->axis = p.axis();
  return Status::success();
}

}  // namespace

bool is_shape_param(const std::string& name) {
  for (const char* p : {"crop_param", "slice_param", "reshape_param", "tile_param",
                        "reduction_param", "argmax_param"}) {
    if (name == p) return true;
  }
  return false;
}

Status convert_shape_param(const pb::LayerParameter& l, const Scope& s, const std::string& name,
                           LayerConfig* out) {
  if (name == "crop_param") return convert_crop(l.crop_param(), s, &out->crop);
  if (name == "slice_param") return convert_slice(l.slice_param(), s, &out->slice);
  if (name == "reshape_param") return convert_reshape(l.reshape_param(), s, &out->reshape);
  if (name == "tile_param") return convert_tile(l.tile_param(), s, &out->tile);
  if (name == "reduction_param") return convert_reduction(l.reduction_param(), s, &out->reduction);
  return convert_argmax(l.argmax_param(), s, &out->argmax);
}

}  // namespace banyan::config_internal
