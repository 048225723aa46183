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
    {"Data", &NewDataLayer},
    {"Input", &NewInputLayer},
    {"Convolution", &NewConvolutionLayer},
    {"Pooling", &NewPoolingLayer},
    {"LRN", &NewLrnLayer},
    {"InnerProduct", &NewInnerProductLayer},
    {"ReLU", &NewReluLayer},
    {"Dropout", &NewDropoutLayer},
    {"Softmax", &NewSoftmaxLayer},
    {"SoftmaxWithLoss", &NewSoftmaxWithLossLayer},
    {"Accuracy", &NewAccuracyLayer},
    {"Concat", &NewConcatLayer},
    {"Split", &NewSplitLayer},
    {"Flatten", &NewFlattenLayer},
    {"Eltwise", &NewEltwiseLayer},
    {"BatchNorm", &NewBatchNormLayer},
    {"Scale", &NewScaleLayer},
};

}  // namespace

Status CreateLayer(const LayerConfig& config, std::unique_ptr<Layer>* out) {
  for (const Entry& e : kLayers) {
    if (config.type == e.type) {
      *out = e.make(config);
      return Status::Ok();
    }
  }
  std::string known;
  for (const Entry& e : kLayers) known += std::string(known.empty() ? "" : ", ") + e.type;
  std::string where = config.location.line > 0 ? " at " + config.location.ToString() : "";
  return Status::NotFound("layer '" + config.name + "'" + where + ": unknown type '" +
                          config.type + "' (known types: " + known + ")");
}

std::vector<std::string> RegisteredLayerTypes() {
  std::vector<std::string> v;
  for (const Entry& e : kLayers) v.push_back(e.type);
  return v;
}

}  // namespace banyan
