// Which record each global sample reads (DESIGN §4, layers/data_layer.h):
// sample s of epoch e = s / N reads record perm_e[s mod N], perm_e a seeded
// Fisher-Yates permutation (TRAIN with shuffle) or the identity.  Shared by
// the reader stage, the decoders (to find a bad record's replacement) and
// tests, so every path uses one definition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/core/config.h"

namespace banyan {

using Permutation = std::vector<uint32_t>;

// The permutation of `epoch` over `n` records for `seed` (Fisher-Yates with
// uniform_int_at(key_for(seed, "shuffle"), epoch, i, i + 1)).
Permutation shuffle_permutation(size_t n, uint64_t seed, int64_t epoch);

// Where worker group `group` of `groups` with batch `batch` starts at
// `iteration`: (iteration * groups + group) * batch, plus in TRAIN the
// seeded rand_skip draw in [0, rand_skip].
int64_t first_sample_of(Phase phase, uint64_t seed, int64_t iteration, int groups, int group,
                        int batch, int rand_skip);

// Sample -> record positions for one (n records, shuffled, seed).  Keeps the
// last few epochs' permutations.  Thread-safe; the permutations it returns
// stay valid while referenced.
class SampleOrder {
 public:
  SampleOrder(size_t num_records, bool shuffled, uint64_t seed);

  size_t num_records() const { return n_; }
  // The permutation of `epoch`, or null for the identity.
  std::shared_ptr<const Permutation> permutation(int64_t epoch) const;
  // Record read by global sample `s`.
  size_t record_for(int64_t s) const;
  // The record `k` places after sample `s`'s record in its epoch's order
  // (wrapping around): the k-th candidate to replace a bad record.
  size_t record_after(int64_t s, int64_t k) const;

 private:
  static constexpr size_t kCached = 3;
  size_t n_;
  bool shuffled_;
  uint64_t seed_;
  mutable std::mutex mu_;
  mutable std::vector<std::pair<int64_t, std::shared_ptr<const Permutation>>> cache_;
};

}  // namespace banyan
