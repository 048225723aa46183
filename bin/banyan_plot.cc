// TrainingPlot (training_plot.h): python3 plot_training.py started with
// posix_spawnp; its output goes to FILE.png.log, read only when it fails.
#include <fcntl.h>
#include <glog/logging.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "bin/training_plot.h"

extern char** environ;

namespace banyan {
namespace {

std::string plot_script() {
  const char* env = std::getenv("BANYAN_PLOT_SCRIPT");
  if (env != nullptr && *env != '\0') return env;
  return BANYAN_SOURCE_DIR "/benchmarks/plot_training.py";
}

// Starts `python script args...` with stdout and stderr into `log`; -1 and
// `*error` when it cannot start.
pid_t spawn_python(const std::string& python, const std::string& script,
                   const std::vector<std::string>& args, const std::string& log,
                   std::string* error) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> words = {python, script};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, python.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    *error = "cannot start " + python + ": " + std::strerror(rc);
    return -1;
  }
  return pid;
}

std::string read_log(const std::string& log) {
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Waits for `pid`; the exit code, or -1 when it did not exit normally.
int wait_exit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

Status TrainingPlot::create(const std::string& metrics_path, const std::string& png_path,
                            TrainingPlot* out) {
  out->script_ = plot_script();
  out->metrics_ = metrics_path;
  out->png_ = png_path;
  if (access(out->script_.c_str(), R_OK) != 0) {
    return Status::not_found("--plot: cannot read the plotting script '" + out->script_ +
                             "' (set BANYAN_PLOT_SCRIPT to benchmarks/plot_training.py)");
  }
  // $BANYAN_PYTHON, else the first python3 on PATH, else Debian's (where
  // python3-matplotlib installs; PATH may put another python3 first).
  std::vector<std::string> pythons = {"python3", "/usr/bin/python3"};
  const char* env = std::getenv("BANYAN_PYTHON");
  if (env != nullptr && *env != '\0') pythons = {env};
  const std::string log = png_path + ".log";
  std::string why;
  for (const std::string& python : pythons) {
    std::string error;
    const pid_t pid = spawn_python(python, out->script_, {"--check"}, log, &error);
    if (pid >= 0 && wait_exit(pid) == 0) {
      out->python_ = python;
      return Status::success();
    }
    why += (why.empty() ? "" : "; ") + python + ": " + (pid < 0 ? error : read_log(log));
  }
  return Status::unimplemented("--plot: no python can run '" + out->script_ + "' (" + why + ")");
}

TrainingPlot::~TrainingPlot() {
  if (child_ > 0) wait_exit(child_);
}

bool TrainingPlot::busy() {
  if (child_ <= 0) return false;
  int status = 0;
  const pid_t done = waitpid(child_, &status, WNOHANG);
  if (done == 0) return true;
  if (done == child_ && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    LOG(WARNING) << "--plot: redrawing " << png_ << " failed: " << read_log(png_ + ".log");
  }
  child_ = -1;
  return false;
}

void TrainingPlot::start() {
  std::string error;
  child_ =
      spawn_python(python_, script_, {metrics_, "--out", png_, "--quiet"}, png_ + ".log", &error);
  if (child_ < 0) LOG(WARNING) << "--plot: " << error;
}

void TrainingPlot::refresh() {
  if (!busy()) start();
}

void TrainingPlot::finish() {
  if (child_ > 0) wait_exit(child_);
  child_ = -1;
  start();
  if (child_ <= 0) return;
  const int rc = wait_exit(child_);
  child_ = -1;
  if (rc != 0) {
    LOG(WARNING) << "--plot: drawing " << png_ << " failed: " << read_log(png_ + ".log");
  } else {
    LOG(INFO) << "training curves: " << png_;
  }
}

}  // namespace banyan
