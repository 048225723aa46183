// Fuzz target: Caffe .caffemodel files (current and V1 layouts), and the
// reader that tells them from Banyan weights files.
#include <cstdint>
#include <vector>

#include "engine/caffe_weights.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static banyan::fuzz::FuzzFile file(".caffemodel");
  const std::string& path = file.write(data, size);
  std::vector<banyan::NamedArray> arrays;
  (void)banyan::read_caffemodel(path, &arrays);
  bool from_caffe = false;
  arrays.clear();
  (void)banyan::read_any_weights(path, &arrays, &from_caffe);
  return 0;
}
