// The model around the graph (IR version, opset, producer) and the file
// write; the layer walk is OnnxLayerWriter's (onnx_layers.h): each Caffe
// blob name maps to the ONNX value holding its latest version, Dropout and
// Split become aliases, BatchNorm (+ Scale) right after a Convolution whose
// output nothing else reads is folded into it, and values no node reads
// become graph outputs.
#include "engine/export/onnx_export.h"

#include <cstdio>

#include "engine/export/onnx_builder.h"
#include "engine/export/onnx_layers.h"

namespace banyan {

Status build_inference_net(const NetConfig& config, WorkerContext* ctx, std::unique_ptr<Net>* net) {
  NetConfig single = config;
  for (LayerConfig& l : single.layers) l.partition = 0;
  NetBuildOptions opts;
  opts.phase = Phase::kTest;
  ctx->step().phase = Phase::kTest;  // Dropout passes through, BatchNorm uses its statistics
  return Net::create(single, opts, ctx, net);
}

Status export_onnx(const NetConfig& config, const Net& net, std::string* model_bytes,
                   OnnxExportReport* report) {
  OnnxExportReport local;
  OnnxExportReport& rep = report != nullptr ? *report : local;
  rep = OnnxExportReport();
  onnx::ModelProto model;
  model.set_ir_version(kOnnxIrVersion);
  model.set_producer_name("banyan");
  model.set_model_version(1);
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name(config.name.empty() ? "banyan" : config.name);
  OnnxGraphBuilder builder(graph);
  OnnxLayerWriter writer(config, net, &builder, &rep);
  BANYAN_RETURN_IF_ERROR(writer.run());
  if (!model.SerializeToString(model_bytes)) {
    return Status::internal("cannot serialise the ONNX model of net '" + config.name + "'");
  }
  return Status::success();
}

Status export_onnx_file(const NetConfig& config, const Net& net, const std::string& path,
                        OnnxExportReport* report) {
  std::string bytes;
  BANYAN_RETURN_IF_ERROR(export_onnx(config, net, &bytes, report));
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return Status::io_error("cannot create '" + tmp + "'");
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::io_error("cannot write ONNX model '" + path + "'");
  }
  return Status::success();
}

}  // namespace banyan
