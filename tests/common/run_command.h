// Running a command-line tool from a test: its exit code and its stdout and
// stderr together.
#pragma once

#include <string>

namespace banyan::testing {

struct RunResult {
  int exit_code = -1;  // 128 + signal when a signal ended it; -1 when it could not start
  std::string output;  // stdout and stderr together
};

// Runs `command` through the shell, in `dir` unless it is empty.
RunResult run_command(const std::string& command, const std::string& dir = "");

}  // namespace banyan::testing
