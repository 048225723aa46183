// Internal to the config loader: the type-specific parts of a layer
// (convolution_param, pooling_param, fillers, ...) checked and copied into
// the plain LayerConfig sub-structs.  Each function takes the Scope of the
// message it converts, so its errors name the field where it was written.
#pragma once

#include "banyan.pb.h"
#include "engine/config/text_parse.h"
#include "engine/core/config.h"
#include "engine/core/status.h"

namespace banyan::config_internal {

// Fills the sub-structs the layer's type uses from their *_param messages
// (defaults when a message is absent, so required values are still checked).
// A *_param message the type does not use is ignored with a warning.  Unknown
// types are left to the layer registry.  `scope` is the layer's scope.
Status convert_layer_params(const pb::LayerParameter& layer, const Scope& scope, LayerConfig* out);

// A filler: type one of constant, gaussian, uniform, xavier, msra.
Status convert_filler(const pb::FillerParameter& filler, const Scope& scope, FillerConfig* out);

// Convolution and pooling windows (window_params.cc): kernel, pad, stride and
// dilation written as one value, two values (h, w) or *_h/*_w; 2-D only.
Status convert_convolution(const pb::ConvolutionParameter& conv, const Scope& scope,
                           ConvolutionConfig* out);
Status convert_pooling(const pb::PoolingParameter& pool, const Scope& scope, PoolingConfig* out);

// The parameters of HingeLoss, InfogainLoss, ContrastiveLoss, PReLU, Bias,
// Embed and MVN (loss_param_layer_params.cc): when `name` is one of their
// *_param messages, converts it into `out`, sets *status and returns true;
// false for any other name.  `n` is the message's scope.
bool convert_loss_param_layer_block(const pb::LayerParameter& l, const Scope& n,
                                    const std::string& name, LayerConfig* out, Status* status);
// The parameters of Crop, Slice, Reshape, Tile, Reduction and ArgMax
// (shape_params.cc): whether `name` is one of their *_param messages, and
// its conversion (`scope` is the message's own scope).
bool is_shape_param(const std::string& name);
Status convert_shape_param(const pb::LayerParameter& layer, const Scope& scope,
                           const std::string& name, LayerConfig* out);
// The data layers' parameters (data_params.cc).  DummyData: shapes and
// fillers expanded to one per top (`num_tops`).
Status convert_dummy_data(const pb::DummyDataParameter& p, const Scope& s, int num_tops,
                          DummyDataConfig* out);
Status convert_image_data(const pb::ImageDataParameter& p, const Scope& s, ImageDataConfig* out);
Status convert_hdf5_data(const pb::HDF5DataParameter& p, const Scope& s, Hdf5DataConfig* out);

// Formats a number the way it would be written in a config ("0.5", "-3").
std::string num(double value);

}  // namespace banyan::config_internal
