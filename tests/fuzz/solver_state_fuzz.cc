// Fuzz target: Banyan solver-state files (.solverstate).
#include <cstdint>
#include <vector>

#include "engine/weights_file.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static banyan::fuzz::FuzzFile file(".solverstate");
  banyan::SolverStateHeader header;
  std::vector<std::vector<banyan::NamedArray>> history;
  (void)banyan::read_solver_state(file.write(data, size), &header, &history);
  return 0;
}
