// Plain configuration structs that layers, nets and solvers consume.  The
// loader (engine/config/) fills them from Caffe-style prototxt files and has
// already resolved defaults and legacy spellings (kernel_size vs kernel_h/w,
// input_dim vs Input layers); protobuf never reaches past the loader.
// Field names follow Caffe's; `partition`, `precision` and warm-up are
// Banyan's extensions.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/shape.h"

namespace banyan {

enum class Phase { kTrain, kTest };
const char* phase_name(Phase p);

// The element type of values sent between processes (exchange_precision).
enum class WirePrecision { kFloat32, kBf16, kFp16 };

// Where a config value came from, for error messages: "net.prototxt:12:5".
struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based
  std::string to_string() const;
};

struct FillerConfig {
  enum class VarianceNorm { kFanIn, kFanOut, kAverage };
  std::string type = "constant";  // constant | gaussian | uniform | xavier | msra
  float value = 0.0f;             // constant
  float min = 0.0f, max = 1.0f;   // uniform
  float mean = 0.0f, std = 1.0f;  // gaussian
  // gaussian, Caffe's sparse fill: >= 0 keeps each value with probability
  // sparse / dim(0) (about `sparse` non-zero weights per input), -1 keeps all.
  int sparse = -1;
  VarianceNorm variance_norm = VarianceNorm::kFanIn;  // xavier, msra
};

// A constant filler of `value`.
inline FillerConfig constant_filler(float value) {
  FillerConfig f;
  f.value = value;
  return f;
}

// Per-parameter learning-rate and decay multipliers (`param { ... }`).
struct ParamConfig {
  float lr_mult = 1.0f;
  float decay_mult = 1.0f;
};

struct TransformConfig {
  float scale = 1.0f;
  bool mirror = false;
  int crop_size = 0;              // 0 = no crop
  std::string mean_file;          // BlobProto, as written by compute_mean
  std::vector<float> mean_value;  // one value, or one per channel
  bool force_color = false;
  bool force_gray = false;
};

struct DataConfig {
  std::string source;  // LMDB directory
  int batch_size = 0;  // per worker group
  int rand_skip = 0;
  bool shuffle = true;     // Banyan: seeded permutation per epoch in TRAIN
  int prefetch = 4;        // batches the input pipeline reads ahead
  int decode_threads = 0;  // Banyan: decode + augment threads, 0 = one per core (the solver divides
                           // them among its groups)
  bool bad_record_fatal = false;  // Banyan: a bad record stops training instead of being replaced
};

// DummyData: one shape and one filler per top (the loader has expanded a
// single shape or filler to every top and the legacy 4-D fields to shapes).
struct DummyDataConfig {
  std::vector<Shape> shapes;
  std::vector<FillerConfig> fillers;
};

// ImageData: a list file of "relative/path label" lines, images read from
// root_folder + path; both new_* 0 or both > 0 (resize every image).
struct ImageDataConfig {
  std::string source;
  std::string root_folder;
  int batch_size = 1;
  int rand_skip = 0;
  bool shuffle = false;
  int new_height = 0, new_width = 0;
  bool is_color = true;
  int prefetch = 4;               // Banyan, as DataConfig
  int decode_threads = 0;         // Banyan, as DataConfig
  bool bad_record_fatal = false;  // Banyan: a bad or missing image stops training
};

// HDF5Data: a text file listing .h5 files; each top reads the dataset of its
// name, rows (first dimension) in order, or shuffled per file when shuffle.
struct Hdf5DataConfig {
  std::string source;
  int batch_size = 0;
  bool shuffle = false;
};

struct InputConfig {
  std::vector<Shape> shapes;  // one per top
};

struct ConvolutionConfig {
  int num_output = 0;
  bool bias_term = true;
  int kernel_h = 0, kernel_w = 0;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dilation_h = 1, dilation_w = 1;
  int group = 1;
  int axis = 1;
  FillerConfig weight_filler;
  FillerConfig bias_filler;
};

struct PoolingConfig {
  enum class Method { kMax, kAve };
  enum class RoundMode { kCeil, kFloor };
  Method pool = Method::kMax;
  int kernel_h = 0, kernel_w = 0;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  bool global_pooling = false;
  RoundMode round_mode = RoundMode::kCeil;  // Caffe's default
};

struct LrnConfig {
  int local_size = 5;
  float alpha = 1.0f;
  float beta = 0.75f;
  float k = 1.0f;
  // ACROSS_CHANNELS: a window of neighbouring channels at each pixel;
  // WITHIN_CHANNEL: a local_size x local_size window in each channel (k unused).
  enum class NormRegion { kAcrossChannels, kWithinChannel };
  NormRegion norm_region = NormRegion::kAcrossChannels;
};

// Spatial pyramid pooling: levels 0 .. pyramid_height-1, 2^l x 2^l bins each.
struct SppConfig {
  int pyramid_height = 0;
  PoolingConfig::Method pool = PoolingConfig::Method::kMax;
};

struct InnerProductConfig {
  int num_output = 0;
  bool bias_term = true;
  int axis = 1;
  bool transpose = false;
  FillerConfig weight_filler;
  FillerConfig bias_filler;
};

// The parameters of the elementwise layers (layers/neuron.h): ELU's alpha,
// Exp/Log's base (-1: e), scale, shift, Power's power, scale, shift,
// Threshold's threshold, Clip's min and max, Swish's beta.
struct NeuronConfig {
  float alpha = 1.0f;
  float base = -1.0f;
  float scale = 1.0f;
  float shift = 0.0f;
  float power = 1.0f;
  float threshold = 0.0f;
  // NaN until a clip_param gives them (Clip refuses to set up without).
  float clip_min = std::numeric_limits<float>::quiet_NaN();
  float clip_max = std::numeric_limits<float>::quiet_NaN();
  float beta = 1.0f;
};

struct ReluConfig {
  float negative_slope = 0.0f;
};

struct DropoutConfig {
  float dropout_ratio = 0.5f;
};

struct SoftmaxConfig {
  int axis = 1;
};

struct LossConfig {
  enum class Normalization { kFull, kValid, kBatchSize, kNone };
  std::optional<int> ignore_label;
  Normalization normalization = Normalization::kValid;
  // Whether the file gave normalization (or the legacy normalize): layers
  // whose Caffe default differs (SigmoidCrossEntropyLoss: BATCH_SIZE) use
  // theirs otherwise.
  bool normalization_given = false;
};

struct AccuracyConfig {
  int top_k = 1;
  int axis = 1;
  std::optional<int> ignore_label;
};

struct ConcatConfig {
  int axis = 1;
};

struct FlattenConfig {
  int axis = 1;
  int end_axis = -1;
};

struct EltwiseConfig {
  enum class Op { kProd, kSum, kMax };
  Op operation = Op::kSum;
  std::vector<float> coeff;  // SUM only; empty = all ones
};

struct BatchNormConfig {
  std::optional<bool> use_global_stats;  // default: false in TRAIN, true in TEST
  float moving_average_fraction = 0.999f;
  float eps = 1e-5f;
};

struct ScaleConfig {
  int axis = 1;
  int num_axes = 1;
  bool bias_term = false;
  FillerConfig filler;  // default constant 1 (set by the loader)
  FillerConfig bias_filler;
};

struct HingeLossConfig {
  enum class Norm { kL1, kL2 };
  Norm norm = Norm::kL1;
};

struct InfogainLossConfig {
  std::string source;  // BlobProto file with the K x K matrix; "" = bottom 2 gives it
  int axis = 1;
};

struct ContrastiveLossConfig {
  float margin = 1.0f;
  bool legacy_version = false;
};

struct PReluConfig {
  FillerConfig filler = constant_filler(0.25f);  // Caffe's default slope
  bool channel_shared = false;
};

struct BiasConfig {
  int axis = 1;
  int num_axes = 1;
  FillerConfig filler;  // default constant 0
};

struct EmbedConfig {
  int num_output = 0;
  int input_dim = 0;
  bool bias_term = true;
  FillerConfig weight_filler;
  FillerConfig bias_filler;
};

struct MvnConfig {
  bool normalize_variance = true;
  bool across_channels = false;
  float eps = 1e-9f;
};

// Crop: bottom 0 cut to bottom 1's dimensions from `axis` on (negative
// counts from the end); `offset` empty (0 everywhere), one value for every
// cropped axis, or one per cropped axis.
struct CropConfig {
  int axis = 2;
  std::vector<int64_t> offset;
};

// Slice: bottom split along `axis` at `slice_point` (strictly increasing,
// one fewer than the tops), or into equal parts when there are none.
struct SliceConfig {
  int axis = 1;
  std::vector<int64_t> slice_point;
};

// Reshape: the bottom's axes [axis, axis + num_axes) (num_axes -1: to the
// end; axis may be negative, -1 meaning after the last axis) replaced by
// `shape`, where 0 copies the bottom's dimension and -1 (at most one) is
// inferred from the count.
struct ReshapeConfig {
  std::vector<int64_t> shape;
  int axis = 0;
  int num_axes = -1;
};

// Tile: `tiles` copies of the bottom along `axis`.  No default in Caffe:
// 0 is refused at setup.
struct TileConfig {
  int axis = 1;
  int tiles = 0;
};

// Reduction over every axis from `axis` on, times `coeff`.
struct ReductionConfig {
  enum class Op { kSum, kAsum, kSumSq, kMean };
  Op operation = Op::kSum;
  int axis = 0;
  float coeff = 1.0f;
};

// ArgMax: the top_k largest values' indices (or values) along `axis`, or
// over each sample's flattened dimensions when axis is not given.
struct ArgMaxConfig {
  bool out_max_val = false;
  int top_k = 1;
  std::optional<int> axis;
};

// The state a net is built in (Caffe's NetState): its phase, a level and a
// set of stages; layers choose the states they belong to with rules.
struct NetState {
  Phase phase = Phase::kTest;
  int level = 0;
  std::vector<std::string> stages;
};

// What a net's builder adds to the net file's own state (the solver's
// train_state/test_state, --stage/--level): `level` replaces the file's when
// set, `stages` add to its stages, as Caffe merges NetStates.
struct NetStateOverride {
  std::optional<int> level;
  std::vector<std::string> stages;
};

// One include/exclude rule (Caffe's NetStateRule): it matches a state when
// every condition given holds: the phase, level >= min_level, level <=
// max_level, every `stages` entry among the state's stages and no
// `not_stages` entry among them.
struct StateRule {
  std::optional<Phase> phase;
  std::optional<int> min_level, max_level;
  std::vector<std::string> stages, not_stages;
  bool matches(const NetState& state) const;
};

struct LayerConfig {
  std::string name;
  std::string type;
  std::vector<std::string> bottom;
  std::vector<std::string> top;
  std::vector<ParamConfig> param;
  std::vector<float> loss_weight;
  std::vector<bool> propagate_down;
  int partition = 0;        // Banyan: which worker of a group runs this layer
  SourceLocation location;  // of the `layer {` block

  TransformConfig transform;
  DataConfig data;
  InputConfig input;
  ConvolutionConfig convolution;
  PoolingConfig pooling;
  LrnConfig lrn;
  InnerProductConfig inner_product;
  ReluConfig relu;
  NeuronConfig neuron;
  DropoutConfig dropout;
  SoftmaxConfig softmax;
  LossConfig loss;
  AccuracyConfig accuracy;
  ConcatConfig concat;
  FlattenConfig flatten;
  EltwiseConfig eltwise;
  BatchNormConfig batch_norm;
  ScaleConfig scale;
  HingeLossConfig hinge_loss;
  InfogainLossConfig infogain_loss;
  ContrastiveLossConfig contrastive_loss;
  PReluConfig prelu;
  BiasConfig bias;
  EmbedConfig embed;
  MvnConfig mvn;
  CropConfig crop;
  SliceConfig slice;
  ReshapeConfig reshape;
  TileConfig tile;
  ReductionConfig reduction;
  ArgMaxConfig argmax;
  SppConfig spp;
  DummyDataConfig dummy_data;
  ImageDataConfig image_data;
  Hdf5DataConfig hdf5_data;

  // A layer is in a net of state s when, with include rules, one of them
  // matches s; else when no exclude rule matches s (Caffe's rule; a layer
  // has rules of one kind only).
  std::vector<StateRule> include, exclude;
  bool in_state(const NetState& state) const;
  // in_state of phase p at level 0 with no stages.
  bool in_phase(Phase p) const;
};

// Whether layers of `type` hold parameters, which snapshots and weight files
// key by layer name: such layers need names unique within a net (Caffe
// allows repeated names, and its example nets repeat them on loss layers).
bool type_has_params(const std::string& type);

struct NetConfig {
  std::string name;
  // The net's own `state { level stage }` (its phase is the one each net is
  // built for); the solver's train_state/test_state and --stage add to it.
  NetState state;
  // `state` in phase p, then `with` merged in (NetStateOverride).
  NetState state_for(Phase p, const NetStateOverride& with = {}) const;
  std::string source_file;  // path it was loaded from ("" if built in code)
  std::vector<LayerConfig> layers;
};

struct SolverConfig {
  enum class Type { kSgd, kNesterov, kAdaGrad, kAdam, kRmsProp, kAdaDelta };
  enum class Precision { kFloat32, kBFloat16 };
  std::string source_file;
  std::string net;        // path of the net file, as written
  std::string train_net;  // alternative spellings Caffe allows
  std::string test_net;
  // One test net per test_iter entry, each built from the net file with
  // test_state[i] (when given, one per test net); the train net with
  // train_state.
  NetStateOverride train_state;
  std::vector<NetStateOverride> test_state;
  std::vector<int> test_iter;
  int test_interval = 0;
  bool test_initialization = true;
  // Also log each test pass's loss (the loss-weighted sum of its outputs)
  // and write it as "total_loss" in the metrics line (Caffe's test_compute_loss).
  bool test_compute_loss = false;
  float base_lr = 0.01f;
  int display = 0;
  int average_loss = 1;
  int max_iter = 0;
  int iter_size = 1;
  std::string lr_policy = "fixed";  // fixed step multistep exp inv poly sigmoid
  float gamma = 0.0f;
  float power = 0.0f;
  int stepsize = 0;
  std::vector<int> stepvalue;
  float momentum = 0.0f;     // AdaDelta: the decay of both running means
  float momentum2 = 0.999f;  // Adam's beta2
  float delta = 1e-8f;       // AdaGrad / RMSProp / AdaDelta / Adam epsilon
  float rms_decay = 0.99f;   // RMSProp
  float weight_decay = 0.0f;
  std::string regularization_type = "L2";  // L2 | L1
  float clip_gradients = -1.0f;
  int snapshot = 0;
  std::string snapshot_prefix;
  bool snapshot_after_train = true;
  int64_t random_seed = -1;  // -1: a fixed default seed (training is reproducible)
  Type type = Type::kSgd;
  Precision precision = Precision::kFloat32;
  // Gradients between processes (ProcessComm::sum with a WirePrecision).
  WirePrecision exchange_precision = WirePrecision::kFloat32;
  int warmup_iter = 0;           // Banyan: linear warm-up from warmup_start_lr
  float warmup_start_lr = 0.0f;  // Banyan
};

}  // namespace banyan
