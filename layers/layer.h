// The layer contract (Caffe's, made explicit):
//   Setup    once: validate the config against the bottom shapes, set every
//            top's shape, declare parameters (DeclareParam) and the scratch
//            workspace size.  No storage is bound yet.  Errors name the layer.
//   Forward  compute tops from bottoms.      Never allocates, never syncs.
//   Backward compute bottom diffs (overwrite) and parameter diffs (+=, they
//            accumulate until the solver clears them) from top diffs.
// CPU code sits in <layer>.cc, GPU code in <layer>.cu; Forward/Backward
// dispatch on the worker's device.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/core/config.h"
#include "engine/core/context.h"
#include "engine/core/cpu_threads.h"
#include "engine/core/status.h"
#include "engine/core/tensor.h"

namespace banyan {

// A parameter a layer declared at setup.  The Net binds `blob` into its
// contiguous parameter buffer (data) and gradient buffer (diff).
struct LayerParam {
  std::unique_ptr<Blob> blob;
  FillerConfig filler;
  float lr_mult = 1.0f;
  float decay_mult = 1.0f;
  // False for state the solver must not update (BatchNorm statistics).
  bool learnable = true;
};

class Layer {
 public:
  explicit Layer(LayerConfig config) : config_(std::move(config)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const LayerConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  const std::string& type() const { return config_.type; }

  // The device the layer runs on; the Net sets it before setup so that setup
  // allocates layer-owned buffers (masks, indices, statistics) there.
  // Default: the CPU (tests of the CPU path).
  void set_device(Device device) { device_ = device; }
  Device device() const { return device_; }
  // CPU workers: the threads and the implementation the layer uses (the
  // Net sets them from the worker's context before setup).  Default: one
  // thread, the default backend.
  void set_cpu_options(const CpuOptions& options) {
    cpu_ = options;
    if (cpu_.threads <= 0) cpu_.threads = 1;
  }
  const CpuOptions& cpu_options() const { return cpu_; }

  // See the contract above.  `bottom` blobs have shapes; `top` blobs get them.
  virtual Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) = 0;

  void forward(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top, WorkerContext& ctx);
  void backward(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Blob*>& bottom, WorkerContext& ctx);

  // CUDA workers only, after every layer's setup and before the Net plans
  // memory: build library plans (cuDNN descriptors, measured convolution
  // algorithms) with the worker's handles.  May allocate temporary device
  // memory for measuring; afterwards workspace_floats() must be final.
  virtual Status prepare_device(WorkerContext& /*ctx*/) { return Status::success(); }
  // Floats of scratch needed by Forward/Backward, known after Setup (and
  // prepare_device on CUDA workers).
  virtual size_t workspace_floats() const { return 0; }
  // Whether the layer has GPU code (forward_gpu/backward_gpu overridden);
  // the Net refuses to build a net for a CUDA worker otherwise.
  virtual bool supports_gpu() const { return false; }
  // Whether top[i] may be the same blob as bottom[i] (ReLU, Dropout).
  virtual bool allows_in_place() const { return false; }
  // Loss weight of top `i` when the config gives none (1 for loss layers' top 0).
  virtual float default_loss_weight(int /*top_index*/) const { return 0.0f; }
  // Whether gradients can flow to bottom `i` at all (false for labels).
  virtual bool can_propagate_down(int /*bottom_index*/) const { return true; }
  // Called by the Net once parameters are bound and filled; for layers that
  // derive state from them.  Default: nothing.
  virtual Status on_params_bound() { return Status::success(); }
  // A short report for the training log (the Data layer's input pipeline
  // statistics since the previous call); empty for most layers.
  virtual std::string status_line() const { return ""; }

  // The element type of top `i` when the net's activations are `precision`,
  // given the bottoms (their types set): by default bottom 0's type, or
  // `precision` for a layer without bottoms.  Losses, accuracies and labels
  // override it with float32.  The Net sets the tops' types after setup.
  virtual DType top_dtype(int i, const std::vector<Blob*>& bottom, DType precision) const;

  // The BF16 path, planned once the blobs' types are known (by the Net,
  // before binding storage; tests may call these themselves): when a bottom
  // or top is bfloat16, forward/backward run the layer's float32 code
  // (forward_cpu/backward_cpu, or the _gpu pair on a CUDA worker) on float32
  // shadows of those blobs, so layer code only ever sees float32.  Inputs
  // are widened exactly; outputs (tops' data, bottoms' gradients) are rounded
  // to nearest even as they are stored; each backward's parameter-gradient
  // increment is rounded the same way before it accumulates into the float32
  // gradient.  These are the rounding points of BF16 mixed precision
  // (docs/design-notes.md, "Mixed precision").  The shadows live in scratch
  // the caller binds (the Net shares one arena among its layers, since they
  // run one at a time): plan (setup only), then bind before the first pass.
  // A no-op when every blob is float32 (0 bytes).
  Status plan_bf16_shadows(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top);
  size_t bf16_shadow_bytes() const;
  // `arena`: at least bf16_shadow_bytes() on the layer's device, 256-byte aligned.
  void bind_bf16_shadows(void* arena);

  std::vector<LayerParam>& params() { return params_; }
  const std::vector<LayerParam>& params() const { return params_; }

 protected:
  virtual void forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                           WorkerContext& ctx) = 0;
  virtual void backward_cpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                            const std::vector<Blob*>& bottom, WorkerContext& ctx) = 0;
  virtual void forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                           WorkerContext& ctx);
  virtual void backward_gpu(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                            const std::vector<Blob*>& bottom, WorkerContext& ctx);

  // Declares parameter number params().size() with `shape`, taking lr_mult and
  // decay_mult from the config's param entry of the same index.  Returns its blob.
  Blob* declare_param(Shape shape, const FillerConfig& filler, bool learnable = true);

  // Checks the number of bottoms and tops; max < 0 means unbounded.
  Status check_counts(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                      int min_bottom, int max_bottom, int min_top, int max_top) const;
  // An InvalidArgument status "layer '<name>' (<type>) at <location>: <message>".
  Status error(const std::string& message) const;

  LayerConfig config_;
  std::vector<LayerParam> params_;
  Device device_ = Device::cpu();
  CpuOptions cpu_{1, CpuBackend::kDefault};

 private:
  // plan_bf16_shadows' state: the distinct bfloat16 blobs of the bottoms and
  // tops with their float32 shadows, the argument lists the layer code gets,
  // and per learnable parameter a scratch gradient (null for the others),
  // all placed in the bound arena at the offsets planned.
  struct Bf16Shadows {
    std::vector<Blob*> originals;
    std::vector<std::unique_ptr<Blob>> shadows;  // shadows[k] stands for originals[k]
    std::vector<Blob*> bottom, top;              // originals replaced by shadows
    std::vector<bool> is_top;                    // per original
    std::vector<bool> is_bottom;                 // per original
    std::vector<size_t> shadow_offsets;          // bytes into the arena (data, then diff)
    std::vector<size_t> param_offsets;           // bytes; SIZE_MAX: not learnable
    std::vector<float*> param_diffs;             // scratch gradients (after bind)
    std::vector<float*> real_param_diffs;        // during backward
    size_t bytes = 0;
    bool bound = false;
  };
  void forward_bf16(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                    WorkerContext& ctx);
  void backward_bf16(const std::vector<Blob*>& top, const std::vector<bool>& propagate_down,
                     const std::vector<Blob*>& bottom, WorkerContext& ctx);
  std::unique_ptr<Bf16Shadows> bf16_;
};

// A value for an error message, as %g prints it ("7", "-1", "0.5", "nan").
std::string format_value(float v);

// Classifier labels are data: whether `v` is a class id in [0, classes),
// and the InvalidArgument a CPU layer reports on its context when not
// ("layer 'loss' (SoftmaxWithLoss): label 7 of sample 1 is not a class id
// in [0, 4)").
bool is_class_id(float v, int64_t classes);
Status label_error(const Layer& layer, float v, int64_t sample, int64_t classes);

}  // namespace banyan
