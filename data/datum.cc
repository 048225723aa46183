// Datum records <-> protobuf bytes (banyan::pb::Datum, Caffe's field numbers).
#include "data/datum.h"

#include "data.pb.h"

namespace banyan {

Status parse_datum(std::string_view bytes, DatumRecord* out) {
  pb::Datum datum;
  if (!datum.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::data_loss("not a valid Datum record (" + std::to_string(bytes.size()) +
                             " bytes)");
  }
  out->channels = datum.channels();
  out->height = datum.height();
  out->width = datum.width();
  out->data.assign(datum.data());
  out->float_data.assign(datum.float_data().begin(), datum.float_data().end());
  out->label = datum.label();
  out->has_label = datum.has_label();
  out->encoded = datum.encoded();
  return Status::success();
}

std::string serialize_datum(const DatumRecord& record) {
  pb::Datum datum;
  datum.set_channels(record.channels);
  datum.set_height(record.height);
  datum.set_width(record.width);
  if (!record.data.empty()) datum.set_data(record.data);
  if (record.has_label) datum.set_label(record.label);
  for (float v : record.float_data) datum.add_float_data(v);
  if (record.encoded) datum.set_encoded(true);
  std::string bytes;
  datum.SerializeToString(&bytes);
  return bytes;
}

}  // namespace banyan
