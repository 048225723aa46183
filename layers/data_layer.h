// Data layer: draws batches from the staged input pipeline (pipeline/), which
// reads Datum records from an LMDB, decodes them (raw, float or JPEG), crops
// and mirrors them into uint8 batch buffers; this layer turns a batch into
// floats (mean, scale) on the CPU or, in CUDA builds, on the GPU after an
// asynchronous upload.  Tops: data (N, C, H', W') and optionally label (N).
//
// Sample order (DESIGN §4): worker group g of G at iteration i fills global
// samples s = (i * G + g) * B + n, n < B.  With N records, sample s belongs
// to epoch e = s / N and reads record perm_e[s mod N], where perm_e is the
// identity in TEST or with shuffle: false, and in TRAIN a Fisher-Yates
// permutation drawn with UniformIntAt(KeyFor(seed, "shuffle"), e, i, i + 1).
// So every record is read once per epoch across all groups, and G groups of
// batch B read exactly what one worker of batch G * B reads.  In TRAIN,
// rand_skip > 0 shifts s by a seeded draw in [0, rand_skip].  Crops and
// mirrors are keyed by (seed, e, s) (data/transform.h).  Each test pass
// starts at iteration 0; the pipeline restarts there.
//
// A bad record is replaced by the next record of the epoch's order and
// logged once; with data_param.bad_record_fatal the forward pass reports a
// DataLoss naming the layer, the LMDB and the key on the worker's context
// (WorkerContext::report_error), which the solver returns: training stops
// with that one error instead of the process aborting.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "layers/layer.h"
#include "pipeline/pipeline.h"

namespace banyan {

class DataLayer : public Layer {
 public:
  explicit DataLayer(const LayerConfig& config);
  ~DataLayer() override;
  // Images in the net's precision; labels stay float32 (exact class ids).
  DType top_dtype(int i, const std::vector<Blob*>&, DType precision) const override {
    return i == 0 ? precision : DType::kFloat32;
  }

  // Opens the pipeline (LMDB, first record for C/H/W, mean file, transform
  // checks, batch ring; pinned when the layer's device is a GPU).  Errors
  // name the layer and the source path.
  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
  bool can_propagate_down(int /*bottom_index*/) const override { return false; }

  size_t num_records() const { return pipeline_ == nullptr ? 0 : pipeline_->num_records(); }
  // Stage statistics since the previous call (see pipeline/stats.h).
  std::string status_line() const override;
  // The pipeline (tests, benchmarks); null before setup.
  const Pipeline* pipeline() const { return pipeline_.get(); }

  // Batches a CUDA worker's layer may hold while their uploads run.
  static constexpr int kGpuHeldBatches = 3;

#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
  // Allocates the device staging buffer (one batch's host layout) and the
  // mean; creates the upload events.
  Status prepare_device(WorkerContext& ctx) override;
#endif

 protected:
  void forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_cpu(const std::vector<Blob*>& /*top*/, const std::vector<bool>& /*propagate_down*/,
                    const std::vector<Blob*>& /*bottom*/, WorkerContext& /*ctx*/) override {}
#ifdef BANYAN_WITH_CUDA
  void forward_gpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_gpu(const std::vector<Blob*>& /*top*/, const std::vector<bool>& /*propagate_down*/,
                    const std::vector<Blob*>& /*bottom*/, WorkerContext& /*ctx*/) override {}
#endif

 protected:
  // "layer '<name>' (<type>) at <file:line>", for messages.
  std::string where() const;
  // Opens the pipeline with `options` (the device-dependent fields are set
  // here) and shapes the tops: data (N, C, H', W'), label (N) when present.
  // The common part of Data's and ImageData's setup.
  Status open_pipeline(PipelineOptions options, const std::vector<Blob*>& top);

 private:
  BatchRequest request_for(const WorkerContext& ctx) const;
  // Acquires the batch; on a pipeline error (LMDB failure, bad record in
  // fatal mode) reports it on ctx, naming the layer, LMDB and key, and
  // returns null (the forward pass then does nothing more).
  Batch* acquire(const BatchRequest& request, WorkerContext& ctx);

  std::unique_ptr<Pipeline> pipeline_;
  int batch_size_ = 0;
  mutable PipelineStats last_stats_;

#ifdef BANYAN_WITH_CUDA
  // Device staging, mean and upload events (data_layer.cu).  Its deleter
  // waits for uploads still reading pinned batches and releases them, so it
  // must go before pipeline_ (declared after it).
  struct GpuState;
  struct GpuStateDeleter {
    void operator()(GpuState* state) const;
  };
  std::unique_ptr<GpuState, GpuStateDeleter> gpu_;
#endif
};

}  // namespace banyan
