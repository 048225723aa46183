// Caffe weights in: a `.caffemodel` (binary NetParameter, current `layer`
// or legacy V1 `layers` form) read as named arrays "<layer>/<blob index>",
// the names Banyan's own weights files use, so every `--weights` flag takes
// either kind of file.  The choice is made on the file's content.
#pragma once

#include <string>
#include <vector>

#include "engine/core/shape.h"
#include "engine/core/status.h"
#include "engine/weights_file.h"

namespace banyan {

// Reads every weight blob of the Caffe model at `path`.  A blob's shape is
// its `shape` field, else the legacy (num, channels, height, width).  Values
// come from `data` (float) or `double_data`.  NotFound / IoError when the
// file cannot be read; DataLoss naming the file (and the layer) when it is
// not a NetParameter, a blob has no values or its value count differs from
// its shape's.  Layers without blobs are skipped.
Status read_caffemodel(const std::string& path, std::vector<NamedArray>* out);

// Reads a Banyan weights file (when the file starts with its magic) or a
// Caffe model; `*from_caffe` says which.  Errors as read_weights and
// read_caffemodel.
Status read_any_weights(const std::string& path, std::vector<NamedArray>* out, bool* from_caffe);

// Whether a weights array of shape `file` may fill a parameter of shape
// `param`: equal shapes, or, for Caffe files (`legacy` true), shapes that
// agree once leading 1s are dropped (V1 inner-product weights (1, 1, N, K)
// and biases (1, 1, 1, N) fill (N, K) and (N)).
bool weight_shape_fits(const Shape& param, const Shape& file, bool legacy);

}  // namespace banyan
