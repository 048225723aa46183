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
Status CreateLayer(const LayerConfig& config, std::unique_ptr<Layer>* out);
// The type names CreateLayer accepts, in table order.
std::vector<std::string> RegisteredLayerTypes();

std::unique_ptr<Layer> NewDataLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewInputLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewConvolutionLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewPoolingLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewLrnLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewInnerProductLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewReluLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewDropoutLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewSoftmaxLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewSoftmaxWithLossLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewAccuracyLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewConcatLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewSplitLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewFlattenLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewEltwiseLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewBatchNormLayer(const LayerConfig& config);
std::unique_ptr<Layer> NewScaleLayer(const LayerConfig& config);

}  // namespace banyan
