// Fuzz target: solver prototxt text through the loader and its validation.
#include <cstdint>
#include <string>

#include "engine/config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  banyan::SolverConfig config;
  (void)banyan::parse_solver_config(std::string(reinterpret_cast<const char*>(data), size),
                                    "fuzz_solver.prototxt", &config);
  return 0;
}
