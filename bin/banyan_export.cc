// The `banyan export` and `banyan classify` subcommands: a deploy net and
// its weights (Banyan's .banyan or Caffe's .caffemodel) out to ONNX and
// Banyan's weights file, or applied to image files.  Flags shared with the
// other subcommands (--model, --weights, --devices) are defined in banyan.cc.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "engine/config/loader.h"
#include "engine/core/context.h"
#include "engine/core/device.h"
#include "engine/export/classify.h"
#include "engine/export/onnx_export.h"
#include "engine/weights_file.h"

DECLARE_string(model);
DECLARE_string(weights);
DECLARE_string(devices);
DEFINE_string(onnx, "", "export: the ONNX model to write (opset 17, weights inside)");
DEFINE_string(weights_out, "", "export: also write the weights as a Banyan weights file");
DEFINE_string(mean, "", "classify: mean image (.binaryproto) replacing the Input's transform mean");
DEFINE_string(labels, "", "classify: class names, one per line");
DEFINE_int32(top_k, 5, "classify: classes to print per image");

namespace banyan {
namespace {

int fail_with(const Status& s) {
  std::cerr << "banyan: " << s.message() << std::endl;
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ? 2 : 1;
}

// The deploy net with its weights, built on `ctx`.  Every parameter must
// come from the weights file: exporting or classifying with freshly
// initialised weights is refused.
Status load_deploy_net(WorkerContext* ctx, NetConfig* config, std::unique_ptr<Net>* net) {
  if (FLAGS_model.empty()) return Status::invalid_argument("needs --model (a deploy prototxt)");
  if (FLAGS_weights.empty()) return Status::invalid_argument("needs --weights");
  BANYAN_RETURN_IF_ERROR(load_net_config(FLAGS_model, config));
  BANYAN_RETURN_IF_ERROR(build_inference_net(*config, ctx, net));
  WeightsLoadReport report;
  BANYAN_RETURN_IF_ERROR(load_weights_into(FLAGS_weights, net->get(), &report));
  if (report.missing.empty()) return Status::success();
  std::string list;
  for (const std::string& m : report.missing) list += (list.empty() ? "" : ", ") + m;
  return Status::invalid_argument("weights file '" + FLAGS_weights + "' lacks parameters of net '" +
                                  config->name + "' (" + FLAGS_model + "): " + list +
                                  " (parameters are matched by <layer>/<index>)");
}

}  // namespace

int export_command() {
  if (FLAGS_onnx.empty() && FLAGS_weights_out.empty()) {
    return fail_with(Status::invalid_argument("export needs --onnx and/or --weights_out"));
  }
  WorkerContext ctx(Device::cpu(), 1);
  NetConfig config;
  std::unique_ptr<Net> net;
  Status s = load_deploy_net(&ctx, &config, &net);
  if (!s.ok()) return fail_with(s);
  if (!FLAGS_onnx.empty()) {
    OnnxExportReport report;
    if (!(s = export_onnx_file(config, *net, FLAGS_onnx, &report)).ok()) return fail_with(s);
    for (const std::string& note : report.notes) LOG(INFO) << note;
    std::string outputs;
    for (const std::string& o : report.outputs) outputs += (outputs.empty() ? "" : ", ") + o;
    std::printf("wrote %s (ONNX opset %d), outputs: %s\n", FLAGS_onnx.c_str(), kOnnxOpset,
                outputs.c_str());
  }
  if (!FLAGS_weights_out.empty()) {
    if (!(s = write_weights(FLAGS_weights_out, *net)).ok()) return fail_with(s);
    std::printf("wrote %s (%zu parameters)\n", FLAGS_weights_out.c_str(), net->params().size());
  }
  return 0;
}

int classify_command(const std::vector<std::string>& images) {
  if (images.empty()) return fail_with(Status::invalid_argument("classify needs image files"));
  if (FLAGS_top_k < 1) return fail_with(Status::invalid_argument("--top_k must be >= 1"));
  std::vector<Device> devices;
  Status s = parse_device_list(FLAGS_devices, &devices);
  if (!s.ok()) return fail_with(s);
  if (devices.size() != 1) {
    return fail_with(
        Status::invalid_argument("classify runs on one device, got --devices=" + FLAGS_devices));
  }
  WorkerContext ctx(devices[0], 1);
  if (!(s = ctx.init_device()).ok()) return fail_with(s);
  NetConfig config;
  std::unique_ptr<Net> net;
  if (!(s = load_deploy_net(&ctx, &config, &net)).ok()) return fail_with(s);
  std::vector<std::string> labels;
  if (!FLAGS_labels.empty() && !(s = read_labels(FLAGS_labels, &labels)).ok()) return fail_with(s);
  std::unique_ptr<Classifier> classifier;
  if (!(s = Classifier::create(config, net.get(), FLAGS_mean, &classifier)).ok()) {
    return fail_with(s);
  }
  std::vector<std::vector<Prediction>> results;
  if (!(s = classifier->classify(images, FLAGS_top_k, &results)).ok()) return fail_with(s);
  for (size_t i = 0; i < images.size(); ++i) {
    std::printf("%s\n", images[i].c_str());
    for (const Prediction& p : results[i]) {
      const std::string name = p.label < static_cast<int>(labels.size())
                                   ? labels[p.label]
                                   : "class " + std::to_string(p.label);
      std::printf("  %.4f  %s\n", p.score, name.c_str());
    }
  }
  return 0;
}

}  // namespace banyan
