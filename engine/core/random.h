// Counter-based randomness (DESIGN §4): every random number is a pure function
// of (key, counter), computed with Philox4x32-10, so shuffles, crops, mirrors,
// dropout masks and initial weights do not depend on which thread or worker
// draws them.  Keys come from the solver seed mixed with a purpose tag
// (a layer name, "shuffle", ...); counters from (iteration, global index).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#if defined(__CUDACC__)
#define BANYAN_HD __host__ __device__
#else
#define BANYAN_HD
#endif

namespace banyan {

struct PhiloxBits {
  uint32_t v[4];
};

// Philox4x32 with 10 rounds (Salmon et al., SC'11).  `key` is the 64-bit key,
// (hi, lo) the 128-bit counter.
BANYAN_HD inline PhiloxBits philox(uint64_t key, uint64_t hi, uint64_t lo) {
  uint32_t c0 = static_cast<uint32_t>(lo), c1 = static_cast<uint32_t>(lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(hi), c3 = static_cast<uint32_t>(hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r) {
    uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return PhiloxBits{{c0, c1, c2, c3}};
}

// Uniform float in [0, 1) from 24 random bits.
BANYAN_HD inline float bits_to_uniform(uint32_t x) {
  return static_cast<float>(x >> 8) * (1.0f / 16777216.0f);
}

// One uniform in [0, 1) for (key, hi, index).
BANYAN_HD inline float uniform_at(uint64_t key, uint64_t hi, uint64_t index) {
  return bits_to_uniform(philox(key, hi, index).v[0]);
}

// One standard normal for (key, hi, index), by Box-Muller on two words.
BANYAN_HD inline float normal_at(uint64_t key, uint64_t hi, uint64_t index) {
  PhiloxBits b = philox(key, hi, index);
  // (0, 1] so the log is finite.
  float u1 = (static_cast<float>(b.v[0] >> 8) + 1.0f) * (1.0f / 16777216.0f);
  float u2 = bits_to_uniform(b.v[1]);
  return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958647692f * u2);
}

// Uniform integer in [0, n) for (key, hi, index); n > 0.  Uses 64 bits, so
// the bias is negligible for any n below 2^32.
BANYAN_HD inline uint64_t uniform_int_at(uint64_t key, uint64_t hi, uint64_t index, uint64_t n) {
  PhiloxBits b = philox(key, hi, index);
  uint64_t x = (static_cast<uint64_t>(b.v[1]) << 32) | b.v[0];
  return x % n;
}

// Mixes a seed with a tag into a well-spread key (SplitMix64 finaliser).
inline uint64_t mix_key(uint64_t seed, uint64_t tag) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (tag + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Stable 64-bit hash of a name (FNV-1a), for deriving keys from layer names.
inline uint64_t hash_name(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001B3ull;
  }
  return h;
}

// Key for purpose `tag` (e.g. a layer name) under `seed`.
inline uint64_t key_for(uint64_t seed, const std::string& tag) {
  return mix_key(seed, hash_name(tag));
}

}  // namespace banyan
