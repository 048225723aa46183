// The explicit layer registry: one line per layer type in registry.cc.  Each
// layer's .cc defines its factory function declared here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layers/layer.h"

namespace banyan {

// Creates the layer for config.type.  NotFound (listing the known types and
// naming the layer and its file:line) for an unknown type.
Status create_layer(const LayerConfig& config, std::unique_ptr<Layer>* out);
// The type names CreateLayer accepts, in table order.
std::vector<std::string> registered_layer_types();

std::unique_ptr<Layer> new_data_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_input_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_convolution_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_pooling_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_lrn_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_inner_product_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_relu_layer(const LayerConfig& config);
// The elementwise family (layers/neuron.h).
std::unique_ptr<Layer> new_sigmoid_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_tanh_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_absval_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_bnll_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_elu_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_exp_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_log_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_power_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_threshold_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_clip_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_swish_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_euclidean_loss_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_sigmoid_cross_entropy_loss_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_dropout_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_softmax_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_softmax_with_loss_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_accuracy_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_concat_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_split_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_flatten_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_eltwise_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_batch_norm_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_scale_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_hinge_loss_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_infogain_loss_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_multinomial_logistic_loss_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_contrastive_loss_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_prelu_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_bias_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_embed_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_mvn_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_crop_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_slice_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_reshape_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_tile_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_silence_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_reduction_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_argmax_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_deconvolution_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_spp_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_dummy_data_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_image_data_layer(const LayerConfig& config);
std::unique_ptr<Layer> new_hdf5_data_layer(const LayerConfig& config);

}  // namespace banyan
