// Fuzz target: IDX (MNIST) image and label files, as convert_mnist reads them.
#include <cstdint>
#include <vector>

#include "data/idx.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static banyan::fuzz::FuzzFile file(".idx");
  const std::string& path = file.write(data, size);
  banyan::IdxImages images;
  (void)banyan::read_idx_images(path, &images);
  std::vector<uint8_t> labels;
  (void)banyan::read_idx_labels(path, &labels);
  return 0;
}
