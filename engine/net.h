// Net: the graph of layers one worker runs for one phase.  Built from a
// NetConfig: layers filtered by phase, Split layers inserted where a blob
// feeds several layers, in-place layers (ReLU, Dropout) sharing their
// bottom's storage, every layer set up once, then memory planned: one arena
// for activations (data + diff), one contiguous buffer for all parameters
// and one for their gradients (so an exchange is a few large transfers), and
// parameters filled by counter-based fillers keyed by (seed, layer, index).
// Not thread-safe; owned and driven by one worker.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/core/config.h"
#include "engine/core/context.h"
#include "engine/core/status.h"
#include "engine/core/tensor.h"
#include "layers/layer.h"

namespace banyan {

class TransferHub;  // layers/transfer.h

struct NetBuildOptions {
  Phase phase = Phase::kTrain;
  // Merged into the config's own state with `phase` (NetConfig::state_for):
  // the state the layers' include/exclude rules select by.
  NetStateOverride state;
  // When set, parameters are not allocated but bound to this net's
  // parameters of the same layer name and index (a test net evaluating the
  // train net's weights).  Shapes must match.  Must outlive the new net.
  const class Net* share_params_from = nullptr;
  // Model parallelism (ctx's placement has group_size K > 1): the net holds
  // only the layers whose partition mod K is the worker's rank_in_group;
  // blobs that cross partitions go through Transfer layers whose channels
  // live in `transfers` (the group's hub, shared by its K workers' nets),
  // keyed by `transfer_scope` (distinct per net of a group: "train",
  // "test0", ...).  Required when K > 1; ignored when K = 1.
  TransferHub* transfers = nullptr;
  std::string transfer_scope;
  // When several workers build nets at once: held around the setup of every
  // Data layer, because one process must not open LMDB environments
  // concurrently (an open re-initialises the shared lock region that other
  // readers of the same LMDB are using).  Null: no locking.
  std::mutex* data_setup_mutex = nullptr;
  // How many loss slots forward_deferred may use (>= 1): the solver needs
  // one per forward pass it keeps in flight (passes per iteration times the
  // iterations it reads late).  Each costs one event and a few doubles.
  int loss_slots = 16;
  // The activations' element type (SolverConfig::precision): bfloat16 makes
  // the data tops and everything computed from them bfloat16 (labels,
  // losses and accuracies stay float32; Layer::top_dtype), and gives the
  // learnable parameters a BF16-rounded compute copy beside their float32
  // master values.  Layers compute in float32 on shadows of their bfloat16
  // blobs, rounding at every store (Layer::plan_bf16_shadows), on the CPU
  // and on CUDA workers alike.
  DType precision = DType::kFloat32;
};

// "TRAIN", or "TEST (level 1, stages test-on-train)".
std::string describe(const NetState& state);

// One parameter of the net, in buffer order.
struct NetParam {
  std::string name;  // "<layer>/<index>", e.g. "conv1/0"
  std::string layer;
  int index = 0;
  Blob* blob = nullptr;
  float lr_mult = 1.0f;
  float decay_mult = 1.0f;
  bool learnable = true;
  int64_t offset = 0;  // in floats, into param_data() / param_diff()
  // The float32 master values (param_data() + offset, or the shared net's):
  // what the solver updates and snapshots and weights files hold.  blob's
  // data is the same memory, except for learnable parameters of a bfloat16
  // net, where it is the compute copy (the master rounded to bfloat16).
  float* master = nullptr;
};

// A blob no layer consumes (loss, accuracy, probabilities...).
struct NetOutput {
  std::string name;
  Blob* blob = nullptr;
  float loss_weight = 0.0f;
  // Position among the outputs of the whole (unpartitioned) net, so the
  // outputs of a group's workers merge into the one-worker order.
  int order = 0;
};

class Net {
 public:
  // Builds the net for `options.phase` on ctx's device.  `ctx` must outlive
  // the net.  Errors name the config file, the layer and what was wrong.
  static Status create(const NetConfig& config, const NetBuildOptions& options, WorkerContext* ctx,
                       std::unique_ptr<Net>* out);
  ~Net();
  Net(const Net&) = delete;
  Net& operator=(const Net&) = delete;

  // Runs every layer forward; returns the weighted loss
  // (sum over outputs of loss_weight * sum of the output's elements).
  // On a CUDA worker the loss is reduced on the device and copied back,
  // which waits for the forward pass to finish.
  float forward();
  // The forward pass without waiting for its loss: on a CUDA worker the loss
  // is reduced on the device and copied to pinned slot `slot` (0 <=
  // slot < num_loss_slots()) behind the pass; deferred_loss(slot) returns it,
  // waiting for that copy only, so the host can run ahead of the device
  // (the solver reads a loss a few iterations late).  On the CPU the loss is
  // computed at once.  forward() is forward_deferred(0) + deferred_loss(0).
  // A layer that reports a data error on the context (WorkerContext::
  // report_error) ends the pass there: the caller takes the error from
  // ctx() after the call, and the slot's loss is meaningless.
  int num_loss_slots() const { return loss_slots_; }
  void forward_deferred(int slot);
  float deferred_loss(int slot);
  // Backpropagates from the loss outputs: their diffs are set to their loss
  // weights, parameter gradients accumulate into param_diff().
  // `after_layer` (optional) is called with each layer's index right after
  // its backward step (also for layers that need none), top layer first.
  void backward(const std::function<void(int)>& after_layer = {});
  // Zeroes param_diff() (the solver calls it before each step).
  void clear_param_diffs();

  // Sets the diffs backward starts from (loss outputs to their weights,
  // unread outputs to zero); Backward() calls it first.
  void prepare_backward();

  // Single layers, for per-layer timing (call PrepareBackward before the
  // first BackwardLayer of a pass).
  int num_layers() const { return static_cast<int>(layers_.size()); }
  Layer& layer(int i) { return *layers_[i]; }
  const Layer& layer(int i) const { return *layers_[i]; }
  void forward_layer(int i);
  void backward_layer(int i);  // no-op for layers that need no backward
  bool layer_needs_backward(int i) const { return needs_backward_[i]; }
  // Whether backward computes a gradient for bottom `b` of layer `i`.
  bool bottom_gets_gradient(int i, int b) const { return propagate_down_[i][b]; }
  const std::vector<Blob*>& layer_bottoms(int i) const { return bottoms_[i]; }
  const std::vector<Blob*>& layer_tops(int i) const { return tops_[i]; }

  const std::string& name() const { return name_; }
  Phase phase() const { return phase_; }
  DType precision() const { return precision_; }
  // bfloat16 nets: sets every learnable parameter's compute copy to its
  // master value rounded to bfloat16 (after an update, a restore, loading
  // weights).  No-op for float32 nets and for nets sharing parameters.
  void refresh_compute_params();
  WorkerContext& ctx() { return *ctx_; }

  const std::vector<NetParam>& params() const { return params_; }
  // Contiguous parameter values (the float32 masters) and gradients
  // (param_count() floats each, parameters at NetParam::offset, padding
  // between them zero).
  float* param_data() const { return param_data_; }
  float* param_diff() const { return param_diff_; }
  int64_t param_count() const { return param_count_; }
  // Finds a parameter by name ("conv1/0"); null if absent.
  const NetParam* find_param(const std::string& name) const;

  // The blob a name refers to after the last layer that writes it; null if absent.
  Blob* blob(const std::string& name) const;
  const std::vector<NetOutput>& outputs() const { return outputs_; }
  // The first Data or Input layer's batch size (dim 0 of its first top); 0 if none.
  int64_t batch_size() const { return batch_size_; }
  // Bytes of planned activation memory (data + diff) and of parameters + gradients.
  size_t activation_bytes() const { return activation_bytes_; }
  // Bytes of the layers' shared float32 shadows of bfloat16 blobs (0 in
  // float32 nets).
  size_t shadow_bytes() const { return shadow_bytes_; }
  size_t param_bytes() const { return param_bytes_; }
  // Bytes of the scratch the layers share (the largest layer's request).
  size_t workspace_bytes() const { return workspace_.bytes(); }

 private:
  Net() = default;
  friend class NetBuilder;

  std::string name_;
  Phase phase_ = Phase::kTrain;
  WorkerContext* ctx_ = nullptr;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<std::vector<Blob*>> bottoms_, tops_;
  std::vector<std::vector<bool>> propagate_down_;
  std::vector<bool> needs_backward_;
  std::vector<std::unique_ptr<Blob>> blobs_;          // one per storage
  std::vector<std::pair<std::string, Blob*>> names_;  // user name -> final blob
  std::vector<NetOutput> outputs_;
  // Diffs set before backward: loss outputs get their weight, blobs whose
  // consumers do not backpropagate get zero.
  std::vector<std::pair<Blob*, float>> diff_fills_;
  std::vector<std::pair<Blob*, float>> losses_;  // (output, loss weight != 0)
  std::vector<NetParam> params_;
  Buffer activations_, param_buffer_, workspace_;
  Buffer bf16_arena_;  // the layers' float32 shadows of bfloat16 blobs (shared)
  // CUDA workers: scratch for the loss reduction and its host copy.
  struct DeviceState;
  std::unique_ptr<DeviceState> device_state_;
  int loss_slots_ = 16;              // NetBuildOptions::loss_slots
  std::vector<double> host_losses_;  // CPU workers: the loss of each slot
  DType precision_ = DType::kFloat32;
  Buffer param_compute_;  // bfloat16 nets: the compute copies (float32 storage on the CPU)
  float* param_data_ = nullptr;
  float* param_diff_ = nullptr;
  int64_t param_count_ = 0;
  int64_t batch_size_ = 0;
  size_t activation_bytes_ = 0, param_bytes_ = 0, shadow_bytes_ = 0;
};

}  // namespace banyan
