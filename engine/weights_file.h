// Banyan's own binary files for trained weights (".banyan") and solver state
// (".solverstate"), both little-endian, versioned and checksummed per array,
// and written atomically: a crash mid-write leaves the old file (or none) at
// the path, never a truncated one.
//
// Weights file:
//   "BANYANW\0"  uint32 version (1)  uint32 count
//   count records, one per parameter in the net's buffer order:
//     uint32 name length, name bytes ("<layer>/<index>", e.g. "conv1/0")
//     uint32 dtype (0 = float32)
//     uint32 rank, rank x int64 dims
//     uint64 byte count, the data bytes
//     uint32 CRC-32 (zlib's crc32) of the data bytes
// Solver-state file:
//   "BANYANS\0"  uint32 version (1)  int64 iteration
//   uint32 solver type (0 SGD, 1 Nesterov, 2 AdaGrad, 3 Adam)
//   uint32 length, bytes: the paired weights file's name, relative to the
//     state file's directory (absolute names are used as they are)
//   uint32 history slots (1, or 2 for Adam), then per slot:
//     uint32 count, count records as above (one per updated parameter)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/config.h"
#include "engine/core/shape.h"
#include "engine/core/status.h"
#include "engine/net.h"

namespace banyan {

inline constexpr uint32_t kWeightsFileVersion = 1;
inline constexpr uint32_t kSolverStateVersion = 1;

// A named float32 array read from a file.
struct NamedArray {
  std::string name;
  Shape shape;
  std::vector<float> data;  // shape.count() values
};

// A named float32 array held by someone else, for writing without copies.
struct ArrayRef {
  std::string name;
  Shape shape;
  const float* data = nullptr;  // shape.count() values, host memory
};

// Writes every parameter of `net` (learnable or not: BatchNorm statistics
// too) to `path`, atomically.  IoError naming the path and the reason.
Status write_weights(const std::string& path, const Net& net);
// Writes `arrays` in the weights format, atomically.
Status write_weight_arrays(const std::string& path, const std::vector<ArrayRef>& arrays);

// Reads a whole weights file.  NotFound / IoError naming the path when it
// cannot be opened or read; DataLoss naming the file (and the parameter
// where there is one) for a bad magic, an unknown version or dtype, a
// truncated file, inconsistent sizes or a CRC mismatch.
Status read_weights(const std::string& path, std::vector<NamedArray>* out);

// What LoadWeightsInto did, by parameter name.
struct WeightsLoadReport {
  std::vector<std::string> loaded;   // copied into the net
  std::vector<std::string> ignored;  // in the file, not in the net
  std::vector<std::string> missing;  // in the net, not in the file (left as they were)
};

// Copies the parameters of the weights file at `path` (Banyan's format, or
// a Caffe .caffemodel, told apart by the content) into `net`, matching
// by name.  File entries with no match are ignored (one log line lists
// them); net parameters absent from the file keep their values.  A shape
// mismatch is InvalidArgument naming the parameter, both shapes and the
// file; nothing is copied unless the whole file reads and matches.
Status load_weights_into(const std::string& path, Net* net, WeightsLoadReport* report = nullptr);

// The fixed part of a solver-state file.
struct SolverStateHeader {
  int64_t iteration = 0;
  SolverConfig::Type type = SolverConfig::Type::kSgd;
  std::string weights_file;  // as stored (see the format above)
};

// Writes a solver-state file atomically; history[slot] holds one array per
// updated parameter, named like the parameter.
Status write_solver_state(const std::string& path, const SolverStateHeader& header,
                          const std::vector<std::vector<ArrayRef>>& history);
// Reads a solver-state file; errors as for ReadWeights.
Status read_solver_state(const std::string& path, SolverStateHeader* header,
                         std::vector<std::vector<NamedArray>>* history);

// The weights file a state file at `state_path` pairs with: `weights_file`
// joined to the state file's directory unless it is absolute.
std::string resolve_paired_weights(const std::string& state_path, const std::string& weights_file);

}  // namespace banyan
