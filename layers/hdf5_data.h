// HDF5Data layer (Caffe's): `source` lists .h5 files (whitespace-separated
// paths, as Caffe reads them); top t reads the dataset named like the top,
// all of one file's datasets having the same first dimension (rows).  Top t
// is (batch_size, dims[1:]) of its dataset, float32 (float, double and
// integer datasets are converted by the library).
//
// Order: all files' rows form one sequence (files in list order, rows in
// order, wrapping around, as Caffe reads them).  Global sample s (the
// worker's sample_base + n, so worker groups read disjoint slices) reads
// position s mod T of epoch s / T, T the total rows.  With shuffle, in TRAIN,
// each epoch takes a seeded permutation of the files and of each file's
// rows; a file's rows still come out together, as in Caffe.  TEST reads in
// order from the start of each test pass.
//
// Files are read whole on demand, in the forward pass, one file held at a
// time (as Caffe does): list files of many rows each so loads stay rare.  A
// file that fails to load mid-run is reported on the worker's context.  On a
// CUDA worker the rows are gathered on the host into pinned staging and
// copied asynchronously on the compute stream; the host only waits when a
// staging buffer's copy from kStagingBuffers passes ago is still running.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/hdf5.h"
#include "layers/layer.h"
#include "pipeline/sample_order.h"

namespace banyan {

class Hdf5DataLayer : public Layer {
 public:
  explicit Hdf5DataLayer(const LayerConfig& config);
  ~Hdf5DataLayer() override;
  DType top_dtype(int i, const std::vector<Blob*>&, DType precision) const override {
    return i == 0 ? precision : DType::kFloat32;
  }

  // Reads the list and every file's dataset dimensions (not the data).
  // Errors name the layer and the list, file or dataset.
  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
  bool can_propagate_down(int /*bottom_index*/) const override { return false; }

  int64_t total_rows() const { return total_rows_; }
  // The (file, row) global sample `s` reads in `phase` under `seed`.
  struct RowRef {
    int file = 0;
    int64_t row = 0;
  };
  RowRef locate(Phase phase, uint64_t seed, int64_t s);

#ifdef BANYAN_WITH_CUDA
  bool supports_gpu() const override { return true; }
  // Pinned staging buffers and their events.
  Status prepare_device(WorkerContext& ctx) override;
  static constexpr int kStagingBuffers = 3;
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

 private:
  // Writes the batch of the pass `ctx` computes into out[t] (row_floats_[t]
  // per sample, host memory).  False after reporting a load error on ctx.
  bool gather(WorkerContext& ctx, const std::vector<float*>& out);
  Status load_file(int file);
  // The epoch's file order and row offsets (cached for the last epoch).
  void plan_epoch(bool shuffled, uint64_t seed, int64_t epoch);

  std::vector<std::string> files_;
  std::vector<std::string> names_;   // dataset per top
  std::vector<int64_t> rows_;        // per file
  std::vector<int64_t> row_floats_;  // per top: floats of one row
  int64_t total_rows_ = 0;
  int batch_size_ = 0;

  // Epoch plan: files in order_ with cumulative rows starts_ (size + 1).
  bool plan_valid_ = false, plan_shuffled_ = false;
  uint64_t plan_seed_ = 0;
  int64_t plan_epoch_ = -1;
  Permutation order_;
  std::vector<int64_t> starts_;
  // Row permutation of the loaded file in the planned epoch (empty: identity).
  std::shared_ptr<const Permutation> rows_perm_;
  int rows_perm_file_ = -1;

  int loaded_file_ = -1;
  std::vector<Hdf5Array> loaded_;  // per top

#ifdef BANYAN_WITH_CUDA
  struct GpuState;
  struct GpuStateDeleter {
    void operator()(GpuState* state) const;
  };
  std::unique_ptr<GpuState, GpuStateDeleter> gpu_;
#endif
};

}  // namespace banyan
