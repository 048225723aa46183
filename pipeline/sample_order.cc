// Seeded permutations and the sample -> record mapping.
#include "pipeline/sample_order.h"

#include <numeric>

#include "engine/core/random.h"

namespace banyan {

Permutation shuffle_permutation(size_t n, uint64_t seed, int64_t epoch) {
  Permutation perm(n);
  std::iota(perm.begin(), perm.end(), 0u);
  const uint64_t key = key_for(seed, "shuffle");
  for (size_t i = n - 1; i > 0; --i) {
    size_t j = static_cast<size_t>(uniform_int_at(key, static_cast<uint64_t>(epoch), i, i + 1));
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

int64_t first_sample_of(Phase phase, uint64_t seed, int64_t iteration, int groups, int group,
                        int batch, int rand_skip) {
  int64_t first = (iteration * groups + group) * static_cast<int64_t>(batch);
  if (phase == Phase::kTrain && rand_skip > 0) {
    first += static_cast<int64_t>(uniform_int_at(key_for(seed, "rand_skip"), 0, 0, rand_skip + 1));
  }
  return first;
}

SampleOrder::SampleOrder(size_t num_records, bool shuffled, uint64_t seed)
    : n_(num_records), shuffled_(shuffled), seed_(seed) {}

std::shared_ptr<const Permutation> SampleOrder::permutation(int64_t epoch) const {
  if (!shuffled_) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [e, perm] : cache_) {
    if (e == epoch) return perm;
  }
  auto perm = std::make_shared<const Permutation>(shuffle_permutation(n_, seed_, epoch));
  if (cache_.size() == kCached) cache_.erase(cache_.begin());
  cache_.emplace_back(epoch, perm);
  return perm;
}

size_t SampleOrder::record_for(int64_t s) const { return record_after(s, 0); }

size_t SampleOrder::record_after(int64_t s, int64_t k) const {
  const int64_t n = static_cast<int64_t>(n_);
  const int64_t position = (s % n + k) % n;
  std::shared_ptr<const Permutation> perm = permutation(s / n);
  return perm == nullptr ? static_cast<size_t>(position) : (*perm)[position];
}

}  // namespace banyan
