// Data layer: reads Datum records from an LMDB, decodes them (raw, float or
// JPEG), transforms them (crop, mirror, mean, scale) and writes a batch.
// Tops: data (N, C, H', W') and optionally label (N).
//
// Sample order (DESIGN §4): worker group g of G at iteration i fills global
// samples s = (i * G + g) * B + n, n < B.  With N records, sample s belongs
// to epoch e = s / N and reads record perm_e[s mod N], where perm_e is the
// identity in TEST or with shuffle: false, and in TRAIN a Fisher-Yates
// permutation drawn with UniformIntAt(KeyFor(seed, "shuffle"), e, i, i + 1).
// So every record is read once per epoch across all groups, and G groups of
// batch B read exactly what one worker of batch G * B reads.  In TRAIN,
// rand_skip > 0 shifts s by a seeded draw in [0, rand_skip].  Crops and
// mirrors are keyed by (seed, e, s) (data/transform.h).
//
// Reading is synchronous for now; the staged pipeline replaces it.  A corrupt
// record stops the process with a message naming the LMDB and the key.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/datum.h"
#include "data/image.h"
#include "data/lmdb.h"
#include "data/transform.h"
#include "layers/layer.h"

namespace banyan {

class DataLayer : public Layer {
 public:
  explicit DataLayer(const LayerConfig& config) : Layer(config) {}

  // Opens the LMDB, reads the first record for C/H/W, loads the mean file and
  // checks the transform.  Errors name the layer and the source path.
  Status setup(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top) override;
  bool can_propagate_down(int /*bottom_index*/) const override { return false; }

  size_t num_records() const { return reader_.size(); }

 protected:
  void forward_cpu(const std::vector<Blob*>& bottom, const std::vector<Blob*>& top,
                   WorkerContext& ctx) override;
  void backward_cpu(const std::vector<Blob*>& /*top*/, const std::vector<bool>& /*propagate_down*/,
                    const std::vector<Blob*>& /*bottom*/, WorkerContext& /*ctx*/) override {}

 private:
  std::string where() const;
  // The record position global sample `s` reads (see the header comment).
  size_t record_for(bool shuffled, uint64_t seed, int64_t s);
  // Recomputes perm_ for (seed, epoch) unless it is already cached.
  void ensure_permutation(uint64_t seed, int64_t epoch);
  // Global index of the first sample of this forward pass, rand_skip included.
  int64_t first_sample(const WorkerContext& ctx, int batch) const;
  // Parses, decodes and checks record `n` of the batch; CHECK-fails naming the key.
  void decode_record(size_t n);

  LmdbReader reader_;
  DataTransformer transformer_;
  DatumDecoder decoder_;
  JpegColor color_ = JpegColor::kNative;
  int channels_ = 0, height_ = 0, width_ = 0;

  std::vector<uint32_t> perm_;  // permutation of epoch perm_epoch_ (sized at setup)
  int64_t perm_epoch_ = -1;
  uint64_t perm_seed_ = 0;

  // Per-batch scratch, sized at setup.
  std::vector<size_t> positions_;
  std::vector<std::string> values_;
  DatumRecord record_;
  ChwImage image_;
};

}  // namespace banyan
