// Fuzz target: Banyan weights files (.weights).
#include <cstdint>
#include <vector>

#include "engine/weights_file.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static banyan::fuzz::FuzzFile file(".weights");
  std::vector<banyan::NamedArray> arrays;
  (void)banyan::read_weights(file.write(data, size), &arrays);
  return 0;
}
