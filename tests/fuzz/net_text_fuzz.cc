// Fuzz target: net prototxt text through the loader (text format parse,
// Caffe upgrades, layer parameter conversion and validation).
#include <cstdint>
#include <string>

#include "engine/config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  banyan::NetConfig config;
  (void)banyan::parse_net_config(std::string(reinterpret_cast<const char*>(data), size),
                                 "fuzz.prototxt", &config);
  return 0;
}
