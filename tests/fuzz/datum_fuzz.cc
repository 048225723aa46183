// Fuzz target: an LMDB value as the pipeline sees it: Datum bytes parsed,
// then decoded (raw uint8, float_data or JPEG) into a C x H x W image.
#include <cstdint>
#include <string_view>

#include "data/datum.h"
#include "data/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static banyan::DatumDecoder decoder;
  banyan::DatumRecord record;
  if (!banyan::parse_datum(std::string_view(reinterpret_cast<const char*>(data), size), &record)
           .ok()) {
    return 0;
  }
  banyan::ChwImage image;
  (void)decoder.decode(record, banyan::JpegColor::kNative, &image);
  return 0;
}
