// Crash soak: `banyan train` killed with SIGKILL at 12 moments drawn from a
// fixed seed (during training steps, test passes and snapshot writes alike:
// each run is killed a random 0-4 ms after its log shows a random iteration
// 10-120 past where it resumed, so the moments fall the same way on a slow
// build), each time restarted from the newest snapshot.  After every kill each
// snapshot on disk must read back whole with its paired weights, and a
// temporary file may only belong to a snapshot newer than the newest whole
// one (the write the kill interrupted); every restart must resume at that
// snapshot's iteration; the last run must end with no temporary file left
// and weights bitwise equal to an uninterrupted run's.  Plus SIGINT: one
// snapshot, exit code 0.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/weights_file.h"
#include "tests/bin/cli_fixture.h"

namespace banyan {
namespace {

class CrashSoakTest : public CliFixture {
 protected:
  // Starts `banyan <args>` in dir_, stdout and stderr into `log`.
  pid_t start(const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> argv_strings = {kBin + "banyan"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log_path = dir_ + "/" + log;
    const pid_t pid = fork();
    if (pid == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || ::chdir(dir_.c_str()) != 0) _exit(126);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }

  // Waits for `pid`; its exit code, or 128 + the signal that ended it.
  static int wait_for(pid_t pid) {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // The iteration N of a name "q_iter_N.<ext>[.tmp]", or -1.
  static int64_t iteration_of(const std::string& name) {
    if (name.rfind("q_iter_", 0) != 0) return -1;
    return std::atoll(name.c_str() + 7);
  }

  // Checks every snapshot in snap/ (state + paired weights read back whole,
  // the state's iteration is the one in its name) and every temporary file
  // (newer than the newest whole snapshot when `allow_pending_tmp`, else
  // none at all).  Returns the newest whole snapshot's iteration, -1: none.
  int64_t check_snapshots(bool allow_pending_tmp, int* pending_tmp) {
    int64_t newest = -1;
    std::vector<std::string> tmps;
    for (const auto& e : fs::directory_iterator(dir_ + "/snap")) {
      const std::string name = e.path().filename().string();
      if (e.path().extension() == ".tmp") {
        tmps.push_back(name);
        continue;
      }
      if (e.path().extension() != ".solverstate") continue;
      SolverStateHeader header;
      std::vector<std::vector<NamedArray>> history;
      Status s = read_solver_state(e.path().string(), &header, &history);
      EXPECT_TRUE(s.ok()) << "torn or unusable snapshot: " << s.message();
      EXPECT_EQ(header.iteration, iteration_of(name)) << name;
      std::vector<NamedArray> weights;
      s = read_weights(resolve_paired_weights(e.path().string(), header.weights_file), &weights);
      EXPECT_TRUE(s.ok()) << "snapshot " << name << " without usable weights: " << s.message();
      EXPECT_FALSE(weights.empty()) << name;
      if (s.ok()) newest = std::max(newest, header.iteration);
    }
    *pending_tmp = 0;
    for (const std::string& t : tmps) {
      EXPECT_TRUE(allow_pending_tmp && iteration_of(t) > newest)
          << "stray temporary file snap/" << t << " (newest whole snapshot: " << newest << ")";
      ++*pending_tmp;
    }
    return newest;
  }

  // Waits until the run logging to `log` shows `line`; false if `pid` ended
  // first or it took over 60 s.
  bool wait_for_line(pid_t pid, const std::string& log, const std::string& line) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < give_up) {
      if (read_all(dir_ + "/" + log).find(line) != std::string::npos) return true;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) != 0) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  static std::vector<std::string> train_args(int64_t resume_from) {
    std::vector<std::string> args = {"train", "--solver=solver.prototxt"};
    if (resume_from >= 0) {
      args.push_back("--snapshot=snap/q_iter_" + std::to_string(resume_from) + ".solverstate");
    }
    return args;
  }
};

TEST_F(CrashSoakTest, SigkillAtRandomMomentsResumesFromTheNewestSnapshot) {
  constexpr int kMaxIter = 3000;  // 12 kills reach at most iteration ~1650
  constexpr int kKills = 12;
  make_dataset("train", 256, 1);
  make_dataset("test", 100, 2);
  write_net_and_solver(kMaxIter, 10);

  // The uninterrupted run and its final weights.
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(wait_for(start(train_args(-1), "straight.log")), 0) << read_all(dir_ + "/straight.log");
  const double straight_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string last = "/snap/q_iter_" + std::to_string(kMaxIter) + ".banyan";
  const std::string straight = read_all(dir_ + last);
  ASSERT_FALSE(straight.empty());
  fs::remove_all(dir_ + "/snap");
  fs::create_directories(dir_ + "/snap");

  std::mt19937 rng(20261205);
  // 12 runs of 10-120 iterations (display: 10) each.
  std::uniform_int_distribution<int> displays(1, 12);
  std::uniform_real_distribution<double> delay_ms(0.0, 4.0);
  int64_t newest = -1;
  int kills = 0, interrupted_writes = 0;
  for (int run = 0; kills < kKills; ++run) {
    const std::string log = "run" + std::to_string(run) + ".log";
    const pid_t pid = start(train_args(newest), log);
    const int64_t target = std::max<int64_t>(newest, 0) + 10 * displays(rng);
    ASSERT_TRUE(wait_for_line(pid, log, "Iteration " + std::to_string(target) + " ("))
        << read_all(dir_ + "/" + log);
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(delay_ms(rng)));
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, WNOHANG), 0)
        << "run " << run << " ended before its kill (after " << kills << " kills):\n"
        << read_all(dir_ + "/" + log);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    ASSERT_EQ(wait_for(pid), 128 + SIGKILL);
    ++kills;
    const std::string output = read_all(dir_ + "/" + log);
    if (newest >= 0 && output.find("Resumed from") != std::string::npos) {
      EXPECT_NE(output.find("Resumed from 'snap/q_iter_" + std::to_string(newest) +
                            ".solverstate' at iteration " + std::to_string(newest)),
                std::string::npos)
          << output;
    }
    int pending = 0;
    const int64_t now_newest = check_snapshots(/*allow_pending_tmp=*/true, &pending);
    interrupted_writes += pending > 0;
    EXPECT_GE(now_newest, newest) << "a snapshot was lost";
    newest = now_newest;
    if (::testing::Test::HasFailure()) return;
  }
  ASSERT_GT(newest, 0) << "no run got as far as its first snapshot";
  ASSERT_LT(newest, kMaxIter);

  const pid_t pid = start(train_args(newest), "final.log");
  const std::string final_log = dir_ + "/final.log";
  ASSERT_EQ(wait_for(pid), 0) << read_all(final_log);
  const std::string output = read_all(final_log);
  EXPECT_NE(output.find("at iteration " + std::to_string(newest)), std::string::npos) << output;
  EXPECT_NE(output.find("Optimization done at iteration " + std::to_string(kMaxIter)),
            std::string::npos)
      << output;
  int pending = 0;
  EXPECT_EQ(check_snapshots(/*allow_pending_tmp=*/false, &pending), kMaxIter);
  EXPECT_EQ(read_all(dir_ + last), straight)
      << "killed " << kills << " times and resumed, the weights differ from a straight run";
  std::printf(
      "crash soak: %d SIGKILLs, %d inside a snapshot write, resumed from iteration %lld "
      "last, straight run %.2f s\n",
      kills, interrupted_writes, static_cast<long long>(newest), straight_s);
}

TEST_F(CrashSoakTest, SigintWritesOneSnapshotAndExitsZero) {
  make_dataset("train", 256, 1);
  make_dataset("test", 100, 2);
  write_net_and_solver(100000000, 0);
  const pid_t pid = start(train_args(-1), "sigint.log");
  const std::string log = dir_ + "/sigint.log";
  // Interrupt once training is under way (the 20th iteration's display).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (read_all(log).find("Iteration 20 (") == std::string::npos &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  ASSERT_EQ(wait_for(pid), 0) << read_all(log);
  const std::string output = read_all(log);
  const size_t at = output.find("stopped by signal at iteration ");
  ASSERT_NE(at, std::string::npos) << output;
  const int64_t stopped = std::atoll(output.c_str() + at + 31);
  EXPECT_GE(stopped, 20);
  int pending = 0;
  EXPECT_EQ(check_snapshots(/*allow_pending_tmp=*/false, &pending), stopped);
  int states = 0, weights = 0;
  for (const auto& e : fs::directory_iterator(dir_ + "/snap")) {
    states += e.path().extension() == ".solverstate";
    weights += e.path().extension() == ".banyan";
  }
  EXPECT_EQ(states, 1);
  EXPECT_EQ(weights, 1);
}

}  // namespace
}  // namespace banyan
