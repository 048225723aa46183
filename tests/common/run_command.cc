// run_command: popen with stderr folded into stdout.
#include "tests/common/run_command.h"

#include <sys/wait.h>

#include <cstdio>

namespace banyan::testing {

RunResult run_command(const std::string& command, const std::string& dir) {
  RunResult r;
  const std::string full = (dir.empty() ? "" : "cd '" + dir + "' && ") + command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) r.output.append(buf, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace banyan::testing
