// Fuzz target: ImageData's list files ("relative/path label" lines), as
// read_image_list reads them.
#include <cstdint>
#include <vector>

#include "data/image_list.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static banyan::fuzz::FuzzFile file(".txt");
  const std::string& path = file.write(data, size);
  std::vector<banyan::ImageListEntry> entries;
  (void)banyan::read_image_list(path, &entries);
  return 0;
}
