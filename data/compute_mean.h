// The mean image of an LMDB of Datum records (raw or JPEG-encoded): the
// logic behind bin/compute_mean.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/mean_file.h"
#include "engine/core/status.h"

namespace banyan {

// Averages every record of the LMDB at `lmdb_path` (decoded in its native
// channel count) into `mean` (C x H x W); `*count` (optional) receives the
// number of records.  Errors: the reader's, InvalidArgument for an empty
// database, DataLoss naming the key of a corrupt record or of one whose shape
// differs from the first record's.
Status compute_mean(const std::string& lmdb_path, MeanImage* mean, int64_t* count);

// The mean of each channel of `mean` (C values).
std::vector<double> channel_means(const MeanImage& mean);

}  // namespace banyan
