// Fuzz target: mean files (Caffe's BlobProto .binaryproto).
#include <cstdint>

#include "data/mean_file.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static banyan::fuzz::FuzzFile file(".binaryproto");
  banyan::MeanImage mean;
  (void)banyan::read_mean_file(file.write(data, size), &mean);
  return 0;
}
