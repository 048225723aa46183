// Datum records: one image (raw pixels, an encoded JPEG, or floats) and its
// label, as stored in the values of an LMDB.  The byte layout is Caffe's
// Datum message, so LMDBs written by Caffe's tools read here and vice versa;
// protobuf stays inside data/ and callers see the plain DatumRecord.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace banyan {

struct DatumRecord {
  int channels = 0;
  int height = 0;
  int width = 0;
  // C x H x W uint8 pixels (BGR for colour images), or the encoded file when
  // `encoded` is set.  Empty when the sample is given as float_data.
  std::string data;
  std::vector<float> float_data;  // C x H x W floats, used when data is empty
  int label = 0;
  // False when the Datum bytes carry no label field (Caffe's tools always
  // write one; serialize_datum writes one).
  bool has_label = true;
  bool encoded = false;
};

// Parses Caffe-layout Datum bytes into `out` (overwritten; its buffers are
// reused).  DataLoss when the bytes are not a valid Datum message.
Status parse_datum(std::string_view bytes, DatumRecord* out);

// Serialises `record` into Caffe-layout Datum bytes.
std::string serialize_datum(const DatumRecord& record);

}  // namespace banyan
