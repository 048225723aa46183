// The parameters of HingeLoss, InfogainLoss, ContrastiveLoss, PReLU, Bias,
// Embed and MVN (Caffe's messages and defaults) checked and copied into
// their config structs; layer_params.cc's convert_block dispatches here.
#include <cmath>
#include <string>

#include "engine/config/layer_params.h"

namespace banyan::config_internal {
namespace {

Status convert_hinge_loss(const pb::HingeLossParameter& p, HingeLossConfig* out) {
  out->norm = p.norm() == pb::HingeLossParameter::L2 ? HingeLossConfig::Norm::kL2
                                                     : HingeLossConfig::Norm::kL1;
  return Status::success();
}

Status convert_infogain_loss(const pb::InfogainLossParameter& p, InfogainLossConfig* out) {
  // An empty source is checked by the layer, which knows whether a third
  // bottom gives the matrix.
  out->source = p.source();
  out->axis = p.axis();
  return Status::success();
}

Status convert_contrastive_loss(const pb::ContrastiveLossParameter& p, const Scope& s,
                                ContrastiveLossConfig* out) {
  if (!std::isfinite(p.margin()))
    return s.invalid("margin", "must be finite, got " + num(p.margin()));
  out->margin = p.margin();
  out->legacy_version = p.legacy_version();
  return Status::success();
}

Status convert_prelu(const pb::PReLUParameter& p, const Scope& s, PReluConfig* out) {
  out->channel_shared = p.channel_shared();
  if (!p.has_filler()) {
    out->filler = constant_filler(0.25f);
    return Status::success();
  }
  return convert_filler(p.filler(), s.nested("filler"), &out->filler);
}

Status convert_bias(const pb::BiasParameter& p, const Scope& s, BiasConfig* out) {
  if (p.num_axes() < -1) {
    return s.invalid("num_axes", "must be >= -1, got " + std::to_string(p.num_axes()));
  }
  out->axis = p.axis();
  out->num_axes = p.num_axes();
  return convert_filler(p.filler(), s.nested("filler"), &out->filler);
}

Status convert_embed(const pb::EmbedParameter& p, const Scope& s, EmbedConfig* out) {
  if (p.num_output() <= 0) {
    return s.invalid("num_output", "must be > 0, got " + std::to_string(p.num_output()));
  }
  if (p.input_dim() <= 0) {
    return s.invalid("input_dim", "must be > 0 (indices are in [0, input_dim)), got " +
                                      std::to_string(p.input_dim()));
  }
  out->num_output = p.num_output();
  out->input_dim = p.input_dim();
  out->bias_term = p.bias_term();
  BANYAN_RETURN_IF_ERROR(
      convert_filler(p.weight_filler(), s.nested("weight_filler"), &out->weight_filler));
  return convert_filler(p.bias_filler(), s.nested("bias_filler"), &out->bias_filler);
}

Status convert_mvn(const pb::MVNParameter& p, const Scope& s, MvnConfig* out) {
  if (!(p.eps() >= 0.0f && std::isfinite(p.eps()))) {
    return s.invalid("eps", "must be finite and >= 0, got " + num(p.eps()));
  }
  out->normalize_variance = p.normalize_variance();
  out->across_channels = p.across_channels();
  out->eps = p.eps();
  return Status::success();
}

}  // namespace

bool convert_loss_param_layer_block(const pb::LayerParameter& l, const Scope& n,
                                    const std::string& name, LayerConfig* out, Status* status) {
  if (name == "hinge_loss_param") {
    *status = convert_hinge_loss(l.hinge_loss_param(), &out->hinge_loss);
  } else if (name == "infogain_loss_param") {
    *status = convert_infogain_loss(l.infogain_loss_param(), &out->infogain_loss);
  } else if (name == "contrastive_loss_param") {
    *status = convert_contrastive_loss(l.contrastive_loss_param(), n, &out->contrastive_loss);
  } else if (name == "prelu_param") {
    *status = convert_prelu(l.prelu_param(), n, &out->prelu);
  } else if (name == "bias_param") {
    *status = convert_bias(l.bias_param(), n, &out->bias);
  } else if (name == "embed_param") {
    *status = convert_embed(l.embed_param(), n, &out->embed);
  } else if (name == "mvn_param") {
    *status = convert_mvn(l.mvn_param(), n, &out->mvn);
  } else {
    return false;
  }
  return true;
}

}  // namespace banyan::config_internal
