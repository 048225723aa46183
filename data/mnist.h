// MNIST-style IDX pairs (images + labels, gzipped or not) -> an LMDB of raw
// one-channel Datum records with keys "%08d", as Caffe's convert_mnist
// writes them.  The logic behind bin/convert_mnist.
#pragma once

#include <cstdint>
#include <string>

#include "engine/core/status.h"

namespace banyan {

struct ConvertMnistOptions {
  bool overwrite = false;  // replace an existing output LMDB
};

// Converts `images_path` + `labels_path` into the LMDB `out_path`; `*count`
// (optional) receives the number of records written.  Errors: those of the
// IDX reader, InvalidArgument when the image and label counts differ or the
// output exists without `overwrite`, IoError from LMDB.
Status convert_mnist(const std::string& images_path, const std::string& labels_path,
                     const std::string& out_path, const ConvertMnistOptions& options,
                     int64_t* count);

}  // namespace banyan
