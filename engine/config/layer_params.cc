// Type-specific layer parameters other than the convolution and pooling
// windows (window_params.cc): which *_param messages each layer type reads,
// fillers, data/transform/input settings and the small per-type messages.
#include "engine/config/layer_params.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

namespace banyan::config_internal {
namespace {

namespace gpb = google::protobuf;

// The *_param messages each known layer type reads.
struct TypeParams {
  const char* type;
  const char* params[2];
};
constexpr TypeParams kTypeParams[] = {
    {"Data", {"transform_param", "data_param"}},
    {"Input", {"input_param", "transform_param"}},  // transform: for classify
    {"Convolution", {"convolution_param", nullptr}},
    {"Pooling", {"pooling_param", nullptr}},
    {"LRN", {"lrn_param", nullptr}},
    {"InnerProduct", {"inner_product_param", nullptr}},
    {"ReLU", {"relu_param", nullptr}},
    {"Dropout", {"dropout_param", nullptr}},
    {"Softmax", {"softmax_param", nullptr}},
    {"SoftmaxWithLoss", {"softmax_param", "loss_param"}},
    {"Accuracy", {"accuracy_param", nullptr}},
    {"Concat", {"concat_param", nullptr}},
    {"Split", {nullptr, nullptr}},
    {"Flatten", {"flatten_param", nullptr}},
    {"Eltwise", {"eltwise_param", nullptr}},
    {"BatchNorm", {"batch_norm_param", nullptr}},
    {"Scale", {"scale_param", nullptr}},
    {"Sigmoid", {"sigmoid_param", nullptr}},
    {"TanH", {"tanh_param", nullptr}},
    {"AbsVal", {nullptr, nullptr}},
    {"BNLL", {nullptr, nullptr}},
    {"ELU", {"elu_param", nullptr}},
    {"Exp", {"exp_param", nullptr}},
    {"Log", {"log_param", nullptr}},
    {"Power", {"power_param", nullptr}},
    {"Threshold", {"threshold_param", nullptr}},
    {"Clip", {"clip_param", nullptr}},
    {"Swish", {"swish_param", nullptr}},
    {"EuclideanLoss", {"loss_param", nullptr}},
    {"SigmoidCrossEntropyLoss", {"loss_param", nullptr}},
    {"HingeLoss", {"hinge_loss_param", nullptr}},
    {"InfogainLoss", {"infogain_loss_param", "loss_param"}},
    {"MultinomialLogisticLoss", {nullptr, nullptr}},
    {"ContrastiveLoss", {"contrastive_loss_param", nullptr}},
    {"PReLU", {"prelu_param", nullptr}},
    {"Bias", {"bias_param", nullptr}},
    {"Embed", {"embed_param", nullptr}},
    {"MVN", {"mvn_param", nullptr}},
    {"Crop", {"crop_param", nullptr}},
    {"Slice", {"slice_param", nullptr}},
    {"Reshape", {"reshape_param", nullptr}},
    {"Tile", {"tile_param", nullptr}},
    {"Silence", {nullptr, nullptr}},
    {"Reduction", {"reduction_param", nullptr}},
    {"ArgMax", {"argmax_param", nullptr}},
    {"Deconvolution", {"convolution_param", nullptr}},
    {"SPP", {"spp_param", nullptr}},
    {"DummyData", {"dummy_data_param", nullptr}},
    {"ImageData", {"transform_param", "image_data_param"}},
    {"HDF5Data", {"hdf5_data_param", nullptr}},
};

// Caffe layer types Banyan refuses, with the reason and what to use.
struct RefusedType {
  const char* type;
  const char* why;
};
constexpr RefusedType kRefusedTypes[] = {
    {"Python",
     "runs Python code inside Caffe; Banyan has no Python layers (write it in C++: "
     "layers/<name>.{h,cc,cu} and one line in layers/registry.cc)"},
    {"LSTM", "recurrent nets are outside Banyan's scope (convolutional nets)"},
    {"RNN", "recurrent nets are outside Banyan's scope (convolutional nets)"},
    {"MemoryData",
     "is fed by C++/Python code in Caffe; use an Input layer, or ImageData / HDF5Data / Data "
     "for files"},
    {"WindowData",
     "R-CNN window files are not read; crop the windows into an LMDB (convert_imageset) and "
     "use Data"},
    {"HDF5Output", "writes blobs to HDF5 during forward; use `banyan test` or `banyan export`"},
    {"Parameter",
     "a parameter blob without a layer that uses it; use Scale or Bias, which hold "
     "their own"},
    {"Filter", "its output batch depends on the data, and Banyan plans every blob's size at setup"},
    {"BatchReindex",
     "gathers batch items by a data-dependent index, which Banyan's fixed plans do not "
     "support"},
    {"Im2col", "is Convolution's internal step; use Convolution"},
};

// Warns about *_param messages (field numbers 100..999) the type does not read.
void warn_unused_params(const pb::LayerParameter& layer, const Scope& s, const TypeParams& uses) {
  const gpb::Reflection* r = layer.GetReflection();
  const gpb::Descriptor* d = layer.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const gpb::FieldDescriptor* f = d->field(i);
    if (f->number() < 100 || f->number() >= 1000 || !r->HasField(layer, f)) continue;
    const bool used = std::any_of(std::begin(uses.params), std::end(uses.params),
                                  [&](const char* p) { return p && f->name() == p; });
    if (!used) s.ignored(f->name(), "a layer of type '" + layer.type() + "' does not use it");
  }
}

Status convert_transform(const pb::TransformationParameter& p, const Scope& s,
                         TransformConfig* out) {
  if (p.crop_size() < 0) {
    return s.invalid("crop_size", "must be >= 0, got " + std::to_string(p.crop_size()));
  }
  if (p.crop_h() != 0 || p.crop_w() != 0) {
    return s.unsupported(p.crop_h() != 0 ? "crop_h" : "crop_w",
                         "is not supported; crops are square (use crop_size)");
  }
  if (p.has_mean_file() && p.mean_value_size() > 0) {
    return s.invalid("mean_value", "cannot be given together with mean_file; use one");
  }
  if (p.force_color() && p.force_gray()) {
    return s.invalid("force_gray", "cannot be true together with force_color");
  }
  out->scale = p.scale();
  out->mirror = p.mirror();
  out->crop_size = p.crop_size();
  out->mean_file = p.mean_file();
  out->mean_value.assign(p.mean_value().begin(), p.mean_value().end());
  out->force_color = p.force_color();
  out->force_gray = p.force_gray();
  return Status::success();
}

Status convert_data(const pb::DataParameter& p, const Scope& s, DataConfig* out,
                    TransformConfig* transform) {
  if (p.has_backend() && p.backend() == pb::DataParameter::LEVELDB) {
    return s.unsupported("backend", "LEVELDB is not supported; only LMDB is");
  }
  for (const char* legacy : {"scale", "mean_file", "crop_size", "mirror"}) {
    if (p.GetReflection()->HasField(p, p.GetDescriptor()->FindFieldByName(legacy))) {
      return s.unsupported(
          legacy, std::string("is a legacy spelling; write it as transform_param.") + legacy);
    }
  }
  if (p.source().empty()) return s.invalid("source", "is required (the LMDB directory)");
  if (p.batch_size() <= 0) {
    return s.invalid("batch_size", "must be > 0, got " + std::to_string(p.batch_size()));
  }
  if (p.rand_skip() < 0) {
    return s.invalid("rand_skip", "must be >= 0, got " + std::to_string(p.rand_skip()));
  }
  if (p.prefetch() < 1) {
    return s.invalid("prefetch",
                     "must be >= 1 (batches read ahead), got " + std::to_string(p.prefetch()));
  }
  if (p.decode_threads() < 0) {
    return s.invalid("decode_threads",
                     "must be >= 0 (0: one per core), got " + std::to_string(p.decode_threads()));
  }
  // backend: LMDB is what Banyan reads; saying so needs no warning.
  out->source = p.source();
  out->batch_size = p.batch_size();
  out->rand_skip = p.rand_skip();
  out->prefetch = p.prefetch();
  out->decode_threads = p.decode_threads();
  out->bad_record_fatal = p.bad_record_fatal();
  out->shuffle = p.shuffle();
  if (p.force_encoded_color()) transform->force_color = true;
  return Status::success();
}

Status convert_input(const pb::InputParameter& p, const Scope& s, int num_tops, InputConfig* out) {
  const int n = p.shape_size();
  if (n > 1 && n != num_tops) {
    return s.invalid("shape", "has " + std::to_string(n) + " shapes for " +
                                  std::to_string(num_tops) + " tops; expected 1 or one per top");
  }
  out->shapes.clear();
  for (int i = 0; i < n; ++i) {
    Shape shape;
    for (int64_t d : p.shape(i).dim()) {
      if (d <= 0) {
        return s.invalid("shape", "dimensions must be > 0, got " + std::to_string(d), i);
      }
      shape.push_back(d);
    }
    out->shapes.push_back(shape);
  }
  if (n == 1) out->shapes.resize(std::max(num_tops, 1), out->shapes[0]);
  return Status::success();
}

Status convert_lrn(const pb::LRNParameter& p, const Scope& s, LrnConfig* out) {
  const bool within = p.norm_region() == pb::LRNParameter::WITHIN_CHANNEL;
  if (within && p.has_k()) {
    s.ignored(
        "k", "WITHIN_CHANNEL normalises by (1 + alpha * mean of x^2)^beta (1, not k, as in Caffe)");
  }
  out->norm_region =
      within ? LrnConfig::NormRegion::kWithinChannel : LrnConfig::NormRegion::kAcrossChannels;
  if (p.local_size() <= 0 || p.local_size() % 2 == 0) {
    return s.invalid("local_size", "must be odd and > 0, got " + std::to_string(p.local_size()));
  }
  out->local_size = p.local_size();
  out->alpha = p.alpha();
  out->beta = p.beta();
  out->k = p.k();
  if (p.has_engine()) s.ignored("engine", "the implementation is chosen per device");
  return Status::success();
}

Status convert_spp(const pb::SPPParameter& p, const Scope& s, SppConfig* out) {
  // Level l pools into 2^l x 2^l bins; past level 29 the bin count overflows an int.
  if (p.pyramid_height() < 1 || p.pyramid_height() > 30) {
    return s.invalid("pyramid_height",
                     "must be in [1, 30], got " + std::to_string(p.pyramid_height()));
  }
  if (p.pool() == pb::SPPParameter::STOCHASTIC) {
    return s.unsupported("pool", "STOCHASTIC is not supported; use MAX or AVE");
  }
  out->pyramid_height = static_cast<int>(p.pyramid_height());
  out->pool =
      p.pool() == pb::SPPParameter::AVE ? PoolingConfig::Method::kAve : PoolingConfig::Method::kMax;
  if (p.has_engine()) s.ignored("engine", "the implementation is chosen per device");
  return Status::success();
}

Status convert_inner_product(const pb::InnerProductParameter& p, const Scope& s,
                             InnerProductConfig* out) {
  if (p.num_output() <= 0) {
    return s.invalid("num_output", "must be > 0, got " + std::to_string(p.num_output()));
  }
  out->num_output = p.num_output();
  out->bias_term = p.bias_term();
  out->axis = p.axis();
  out->transpose = p.transpose();
  BANYAN_RETURN_IF_ERROR(
      convert_filler(p.weight_filler(), s.nested("weight_filler"), &out->weight_filler));
  return convert_filler(p.bias_filler(), s.nested("bias_filler"), &out->bias_filler);
}

Status convert_loss(const pb::LossParameter& p, LossConfig* out) {
  if (p.has_ignore_label()) out->ignore_label = p.ignore_label();
  pb::LossParameter::NormalizationMode mode = p.normalization();
  out->normalization_given = p.has_normalization() || p.has_normalize();
  if (!p.has_normalization() && p.has_normalize()) {
    mode = p.normalize() ? pb::LossParameter::VALID : pb::LossParameter::BATCH_SIZE;
  }
  switch (mode) {
    case pb::LossParameter::FULL:
      out->normalization = LossConfig::Normalization::kFull;
      break;
    case pb::LossParameter::VALID:
      out->normalization = LossConfig::Normalization::kValid;
      break;
    case pb::LossParameter::BATCH_SIZE:
      out->normalization = LossConfig::Normalization::kBatchSize;
      break;
    case pb::LossParameter::NONE:
      out->normalization = LossConfig::Normalization::kNone;
      break;
  }
  return Status::success();
}

Status convert_eltwise(const pb::EltwiseParameter& p, const Scope& s, EltwiseConfig* out) {
  if (p.coeff_size() > 0 && p.operation() != pb::EltwiseParameter::SUM) {
    return s.invalid("coeff", "applies to operation SUM only");
  }
  switch (p.operation()) {
    case pb::EltwiseParameter::PROD:
      out->operation = EltwiseConfig::Op::kProd;
      break;
    case pb::EltwiseParameter::SUM:
      out->operation = EltwiseConfig::Op::kSum;
      break;
    case pb::EltwiseParameter::MAX:
      out->operation = EltwiseConfig::Op::kMax;
      break;
  }
  out->coeff.assign(p.coeff().begin(), p.coeff().end());
  if (p.has_stable_prod_grad()) s.ignored("stable_prod_grad", "one PROD gradient is used");
  return Status::success();
}

Status convert_batch_norm(const pb::BatchNormParameter& p, const Scope& s, BatchNormConfig* out) {
  const float f = p.moving_average_fraction();
  if (!(f >= 0.0f && f <= 1.0f)) {
    return s.invalid("moving_average_fraction", "must be in [0, 1], got " + num(f));
  }
  if (!(p.eps() > 0.0f)) return s.invalid("eps", "must be > 0, got " + num(p.eps()));
  if (p.has_use_global_stats()) out->use_global_stats = p.use_global_stats();
  out->moving_average_fraction = f;
  out->eps = p.eps();
  return Status::success();
}

Status convert_scale(const pb::ScaleParameter& p, const Scope& s, ScaleConfig* out) {
  if (p.num_axes() < -1) {
    return s.invalid("num_axes", "must be >= -1, got " + std::to_string(p.num_axes()));
  }
  out->axis = p.axis();
  out->num_axes = p.num_axes();
  out->bias_term = p.bias_term();
  if (p.has_filler()) {
    BANYAN_RETURN_IF_ERROR(convert_filler(p.filler(), s.nested("filler"), &out->filler));
  } else {
    out->filler = FillerConfig();
    out->filler.value = 1.0f;
  }
  return convert_filler(p.bias_filler(), s.nested("bias_filler"), &out->bias_filler);
}

// The elementwise layers' parameters (NeuronConfig); every value finite,
// Exp/Log bases positive (or -1 for e).
Status convert_neuron(const pb::LayerParameter& l, const Scope& s, const std::string& name,
                      NeuronConfig* out) {
  auto finite = [&](const char* field, float v) {
    return std::isfinite(v) ? Status::success() : s.invalid(field, "must be finite, got " + num(v));
  };
  auto base_ok = [&](float base) {
    return base == -1.0f || (base > 0.0f && std::isfinite(base) && base != 1.0f)
               ? Status::success()
               : s.invalid("base", "must be positive and not 1 (or -1 for e), got " + num(base));
  };
  if (name == "elu_param") {
    out->alpha = l.elu_param().alpha();
    return finite("alpha", out->alpha);
  }
  if (name == "threshold_param") {
    out->threshold = l.threshold_param().threshold();
    return finite("threshold", out->threshold);
  }
  if (name == "clip_param") {
    const pb::ClipParameter& p = l.clip_param();
    if (!p.has_min() || !p.has_max()) {
      return s.invalid(p.has_min() ? "max" : "min", "is required");
    }
    out->clip_min = p.min();
    out->clip_max = p.max();
    BANYAN_RETURN_IF_ERROR(finite("min", out->clip_min));
    BANYAN_RETURN_IF_ERROR(finite("max", out->clip_max));
    if (out->clip_min > out->clip_max) {
      return s.invalid("max",
                       "must be >= min (" + num(out->clip_min) + "), got " + num(out->clip_max));
    }
    return Status::success();
  }
  if (name == "swish_param") {
    out->beta = l.swish_param().beta();
    return finite("beta", out->beta);
  }
  if (name == "sigmoid_param" || name == "tanh_param") {
    const bool engine =
        name == "sigmoid_param" ? l.sigmoid_param().has_engine() : l.tanh_param().has_engine();
    if (engine) s.ignored("engine", "the implementation is chosen per device");
    return Status::success();
  }
  if (name == "power_param") {
    const pb::PowerParameter& p = l.power_param();
    out->power = p.power();
    out->scale = p.scale();
    out->shift = p.shift();
    BANYAN_RETURN_IF_ERROR(finite("power", out->power));
  } else {
    const bool exp = name == "exp_param";
    out->base = exp ? l.exp_param().base() : l.log_param().base();
    out->scale = exp ? l.exp_param().scale() : l.log_param().scale();
    out->shift = exp ? l.exp_param().shift() : l.log_param().shift();
    BANYAN_RETURN_IF_ERROR(base_ok(out->base));
  }
  BANYAN_RETURN_IF_ERROR(finite("scale", out->scale));
  return finite("shift", out->shift);
}

// relu, dropout, softmax, accuracy, concat and flatten parameters.
Status convert_small_block(const pb::LayerParameter& l, const Scope& s, const std::string& name,
                           LayerConfig* out) {
  if (name == "relu_param") {
    out->relu.negative_slope = l.relu_param().negative_slope();
    if (l.relu_param().has_engine()) s.ignored("engine", "the implementation is chosen per device");
  } else if (name == "dropout_param") {
    const float r = l.dropout_param().dropout_ratio();
    if (!(r >= 0.0f && r < 1.0f)) {
      return s.invalid("dropout_ratio", "must be in [0, 1), got " + num(r));
    }
    out->dropout.dropout_ratio = r;
  } else if (name == "softmax_param") {
    out->softmax.axis = l.softmax_param().axis();
    if (l.softmax_param().has_engine()) {
      s.ignored("engine", "the implementation is chosen per device");
    }
  } else if (name == "accuracy_param") {
    const pb::AccuracyParameter& p = l.accuracy_param();
    if (p.top_k() < 1) return s.invalid("top_k", "must be >= 1, got " + std::to_string(p.top_k()));
    out->accuracy.top_k = p.top_k();
    out->accuracy.axis = p.axis();
    if (p.has_ignore_label()) out->accuracy.ignore_label = p.ignore_label();
  } else if (name == "concat_param") {
    const pb::ConcatParameter& p = l.concat_param();
    if (p.has_axis() && p.has_concat_dim()) {
      return s.invalid("concat_dim", "and axis are both given; use axis");
    }
    out->concat.axis = p.has_concat_dim() ? p.concat_dim() : p.axis();
  } else if (name == "flatten_param") {
    out->flatten.axis = l.flatten_param().axis();
    out->flatten.end_axis = l.flatten_param().end_axis();
  } else {
    LOG(FATAL) << "no converter for " << name;
  }
  return Status::success();
}

// Converts the *_param message `name` of layer `l` (its default when absent).
Status convert_block(const pb::LayerParameter& l, const Scope& s, const std::string& name,
                     LayerConfig* out) {
  const Scope n = s.nested(name);
  if (name == "transform_param") return convert_transform(l.transform_param(), n, &out->transform);
  if (name == "data_param") return convert_data(l.data_param(), n, &out->data, &out->transform);
  if (name == "input_param") return convert_input(l.input_param(), n, l.top_size(), &out->input);
  if (name == "convolution_param") {
    return convert_convolution(l.convolution_param(), n, &out->convolution);
  }
  if (name == "pooling_param") return convert_pooling(l.pooling_param(), n, &out->pooling);
  if (name == "lrn_param") return convert_lrn(l.lrn_param(), n, &out->lrn);
  if (name == "inner_product_param") {
    return convert_inner_product(l.inner_product_param(), n, &out->inner_product);
  }
  if (name == "loss_param") return convert_loss(l.loss_param(), &out->loss);
  if (name == "eltwise_param") return convert_eltwise(l.eltwise_param(), n, &out->eltwise);
  if (name == "batch_norm_param") {
    return convert_batch_norm(l.batch_norm_param(), n, &out->batch_norm);
  }
  if (name == "scale_param") return convert_scale(l.scale_param(), n, &out->scale);
  if (Status st; convert_loss_param_layer_block(l, n, name, out, &st)) return st;
  if (name == "spp_param") return convert_spp(l.spp_param(), n, &out->spp);
  if (name == "dummy_data_param") {
    return convert_dummy_data(l.dummy_data_param(), n, l.top_size(), &out->dummy_data);
  }
  if (name == "image_data_param") {
    return convert_image_data(l.image_data_param(), n, &out->image_data);
  }
  if (name == "hdf5_data_param") return convert_hdf5_data(l.hdf5_data_param(), n, &out->hdf5_data);
  for (const char* neuron : {"elu_param", "exp_param", "log_param", "power_param", "sigmoid_param",
                             "tanh_param", "threshold_param", "clip_param", "swish_param"}) {
    if (name == neuron) return convert_neuron(l, n, name, &out->neuron);
  }
  if (is_shape_param(name)) return convert_shape_param(l, n, name, out);
  return convert_small_block(l, n, name, out);
}

}  // namespace

std::string num(double value) {
  std::ostringstream os;
  os << value;
  return os.str();
}

Status convert_filler(const pb::FillerParameter& p, const Scope& s, FillerConfig* out) {
  const std::string& t = p.type();
  if (t == "positive_unitball" || t == "bilinear") {
    return s.unsupported("type", "'" + t +
                                     "' is not supported; use constant, gaussian, uniform, "
                                     "xavier or msra");
  }
  if (t != "constant" && t != "gaussian" && t != "uniform" && t != "xavier" && t != "msra") {
    return s.invalid("type", "'" + t +
                                 "' is not a filler; expected constant, gaussian, uniform, "
                                 "xavier or msra");
  }
  if (p.sparse() < -1) {
    return s.invalid("sparse", "must be >= 0 (or -1: dense), got " + std::to_string(p.sparse()));
  }
  if (p.sparse() >= 0 && t != "gaussian") s.ignored("sparse", "only the gaussian filler uses it");
  if (t == "gaussian" && !(p.std() >= 0.0f)) {
    return s.invalid("std", "must be >= 0, got " + num(p.std()));
  }
  if (t == "uniform" && !(p.min() <= p.max())) {
    return s.invalid("max", "must be >= min (" + num(p.min()) + "), got " + num(p.max()));
  }
  out->type = t;
  out->value = p.value();
  out->min = p.min();
  out->max = p.max();
  out->mean = p.mean();
  out->std = p.std();
  out->sparse = t == "gaussian" ? p.sparse() : -1;
  switch (p.variance_norm()) {
    case pb::FillerParameter::FAN_IN:
      out->variance_norm = FillerConfig::VarianceNorm::kFanIn;
      break;
    case pb::FillerParameter::FAN_OUT:
      out->variance_norm = FillerConfig::VarianceNorm::kFanOut;
      break;
    case pb::FillerParameter::AVERAGE:
      out->variance_norm = FillerConfig::VarianceNorm::kAverage;
      break;
  }
  return Status::success();
}

Status convert_layer_params(const pb::LayerParameter& layer, const Scope& scope, LayerConfig* out) {
  const TypeParams* uses = nullptr;
  for (const TypeParams& t : kTypeParams) {
    if (layer.type() == t.type) uses = &t;
  }
  for (const RefusedType& r : kRefusedTypes) {
    if (layer.type() == r.type) {
      return scope.unsupported("type", "'" + layer.type() + "' is not supported: " + r.why);
    }
  }
  if (uses == nullptr) return Status::success();
  warn_unused_params(layer, scope, *uses);
  for (const char* name : uses->params) {
    if (name != nullptr) BANYAN_RETURN_IF_ERROR(convert_block(layer, scope, name, out));
  }
  return Status::success();
}

}  // namespace banyan::config_internal
