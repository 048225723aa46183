// The layer table.  Adding a layer: write layers/<name>.{h,cc[,cu]}, declare
// its factory in registry.h, add one line below.
#include "layers/registry.h"

namespace banyan {
namespace {

struct Entry {
  const char* type;
  std::unique_ptr<Layer> (*make)(const LayerConfig&);
};

constexpr Entry kLayers[] = {
    {"Data", &new_data_layer},
    {"Input", &new_input_layer},
    {"Convolution", &new_convolution_layer},
    {"Pooling", &new_pooling_layer},
    {"LRN", &new_lrn_layer},
    {"InnerProduct", &new_inner_product_layer},
    {"ReLU", &new_relu_layer},
    {"Dropout", &new_dropout_layer},
    {"Softmax", &new_softmax_layer},
    {"SoftmaxWithLoss", &new_softmax_with_loss_layer},
    {"Accuracy", &new_accuracy_layer},
    {"Concat", &new_concat_layer},
    {"Split", &new_split_layer},
    {"Flatten", &new_flatten_layer},
    {"Eltwise", &new_eltwise_layer},
    {"BatchNorm", &new_batch_norm_layer},
    {"Scale", &new_scale_layer},
    {"Sigmoid", &new_sigmoid_layer},
    {"TanH", &new_tanh_layer},
    {"AbsVal", &new_absval_layer},
    {"BNLL", &new_bnll_layer},
    {"ELU", &new_elu_layer},
    {"Exp", &new_exp_layer},
    {"Log", &new_log_layer},
    {"Power", &new_power_layer},
    {"Threshold", &new_threshold_layer},
    {"Clip", &new_clip_layer},
    {"Swish", &new_swish_layer},
    {"EuclideanLoss", &new_euclidean_loss_layer},
    {"SigmoidCrossEntropyLoss", &new_sigmoid_cross_entropy_loss_layer},
    {"HingeLoss", &new_hinge_loss_layer},
    {"InfogainLoss", &new_infogain_loss_layer},
    {"MultinomialLogisticLoss", &new_multinomial_logistic_loss_layer},
    {"ContrastiveLoss", &new_contrastive_loss_layer},
    {"PReLU", &new_prelu_layer},
    {"Bias", &new_bias_layer},
    {"Embed", &new_embed_layer},
    {"MVN", &new_mvn_layer},
    {"Crop", &new_crop_layer},
    {"Slice", &new_slice_layer},
    {"Reshape", &new_reshape_layer},
    {"Tile", &new_tile_layer},
    {"Silence", &new_silence_layer},
    {"Reduction", &new_reduction_layer},
    {"ArgMax", &new_argmax_layer},
    {"Deconvolution", &new_deconvolution_layer},
    {"SPP", &new_spp_layer},
    {"DummyData", &new_dummy_data_layer},
    {"ImageData", &new_image_data_layer},
    {"HDF5Data", &new_hdf5_data_layer},
};

}  // namespace

Status create_layer(const LayerConfig& config, std::unique_ptr<Layer>* out) {
  for (const Entry& e : kLayers) {
    if (config.type == e.type) {
      *out = e.make(config);
      return Status::success();
    }
  }
  std::string known;
  for (const Entry& e : kLayers) known += std::string(known.empty() ? "" : ", ") + e.type;
  std::string where = config.location.line > 0 ? " at " + config.location.to_string() : "";
  return Status::not_found("layer '" + config.name + "'" + where + ": unknown type '" +
                           config.type + "' (known types: " + known + ")");
}

std::vector<std::string> registered_layer_types() {
  std::vector<std::string> v;
  for (const Entry& e : kLayers) v.push_back(e.type);
  return v;
}

}  // namespace banyan
