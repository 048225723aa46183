// CIFAR-10 binary batches (data_batch_1.bin ... and test_batch.bin: records
// of one label byte and 3 x 32 x 32 pixel bytes, R, G, B planes) -> an LMDB
// of raw 3-channel Datum records, keys "%08d", as Caffe's convert_cifar_data
// writes them.  The logic behind bin/convert_cifar.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace banyan {

constexpr int kCifarSide = 32;
constexpr int kCifarRecordBytes = 1 + 3 * kCifarSide * kCifarSide;

struct ConvertCifarOptions {
  bool overwrite = false;  // replace an existing output LMDB
  int classes = 10;        // labels must lie in [0, classes) (100 for CIFAR-100 fine labels)
};

// Converts the batches in `inputs`, in order, into the LMDB `out_path`;
// `*count` (optional) receives the number of records.  Errors: NotFound or
// IoError naming an unreadable batch, DataLoss naming the file and record
// for a size that is not a whole number of records or a label out of range,
// InvalidArgument when the output exists without `overwrite`, IoError from
// LMDB.
Status convert_cifar(const std::vector<std::string>& inputs, const std::string& out_path,
                     const ConvertCifarOptions& options, int64_t* count);

// Writes `count` records in the CIFAR-10 binary format to `path` whose class
// can be learnt: class k is a square of colour k at position k on a noisy
// background (seeded by `seed`).  For tests and the example without the
// real data set.
Status write_synthetic_cifar(const std::string& path, int64_t count, uint64_t seed);

}  // namespace banyan
