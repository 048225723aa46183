// Reading numeric datasets of HDF5 files (the HDF5Data layer's input) with the
// HDF5 C library: a file opened read-only, datasets read whole and converted
// to float32 by the library (float, double and integer datasets).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace banyan {

// One dataset: its dimensions (outermost first) and values, row-major.
struct Hdf5Array {
  std::vector<int64_t> dims;
  std::vector<float> values;
};

// Reads the datasets `names` of the HDF5 file `path` into (*out)[i].
// NotFound naming the file when it does not exist, or the dataset and file
// when a dataset is absent; DataLoss naming the file when it is not a
// readable HDF5 file; InvalidArgument naming the dataset when it is not
// numeric (float or integer) or has no dimension.  Thread-safe when the HDF5
// library is (Debian's is built thread-safe).
Status read_hdf5_datasets(const std::string& path, const std::vector<std::string>& names,
                          std::vector<Hdf5Array>* out);

// The same checks, reading only the dimensions ((*out)[i].values stay empty).
Status read_hdf5_dims(const std::string& path, const std::vector<std::string>& names,
                      std::vector<Hdf5Array>* out);

}  // namespace banyan
