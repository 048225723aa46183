// Training curves: benchmarks/plot_training.py on metrics files written
// here (two runs overlaid, a resumed run repeating iterations, a line being
// written, a malformed line), and `banyan train --plot` end to end.
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/bin/cli_fixture.h"

namespace banyan {
namespace {

const std::string kScript = kSource + "/benchmarks/plot_training.py";

// The python that runs the script's --check (PATH's python3 may lack
// matplotlib where Debian's /usr/bin/python3 has it).
std::string plotting_python(const std::string& dir) {
  for (const char* py : {"python3", "/usr/bin/python3"}) {
    if (run_command(std::string(py) + " " + kScript + " --check", dir).exit_code == 0) return py;
  }
  return "";
}

bool is_png(const std::string& bytes) {
  return bytes.size() > 1000 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}

class PlotCliTest : public CliFixture {};

TEST_F(PlotCliTest, ScriptOverlaysRunsAndSummarisesThem) {
  const std::string py = plotting_python(dir_);
  ASSERT_FALSE(py.empty()) << "no python3 with matplotlib (Debian: python3-matplotlib)";
  // Run a: iterations 0..40 logged, then a resume from iteration 20 repeats
  // 20 and 30 with other values; the repeated ones must win.  The last line
  // has no newline yet (being written) and is ignored.
  std::string a;
  for (int it = 0; it <= 40; it += 10) {
    a += "{\"iter\":" + std::to_string(it) +
         ",\"phase\":\"train\",\"loss\":" + std::to_string(2.0 - 0.01 * it) +
         ",\"lr\":0.1,\"images_per_s\":100,\"elapsed_s\":1}\n";
  }
  a += "{\"iter\":40,\"phase\":\"test\",\"test_net\":0,\"accuracy\":0.5,\"loss\":1.5}\n";
  for (int it = 20; it <= 30; it += 10) {
    a += "{\"iter\":" + std::to_string(it) +
         ",\"phase\":\"train\",\"loss\":" + std::to_string(1.0 - 0.01 * it) +
         ",\"lr\":0.05,\"images_per_s\":300,\"elapsed_s\":2}\n";
  }
  a += "{\"iter\":30,\"phase\":\"test\",\"test_net\":0,\"accuracy\":0.75,\"loss\":0.9}\n";
  a += "{\"iter\":40,\"phase\":\"tr";
  write_file(dir_ + "/a_metrics.jsonl", a);
  write_file(dir_ + "/b.jsonl",
             "{\"iter\":0,\"phase\":\"train\",\"loss\":3,\"lr\":0.01,\"images_per_s\":null}\n"
             "{\"iter\":10,\"phase\":\"test\",\"test_net\":0,\"accuracy\":0.25,\"loss\":2}\n"
             "{\"iter\":10,\"phase\":\"test\",\"test_net\":1,\"accuracy\":0.125,\"loss\":2.5}\n");
  RunResult r = run_command(
      py + " " + kScript + " a_metrics.jsonl b.jsonl=bf16 --out curves.png --smooth 2", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(is_png(read_all(dir_ + "/curves.png"))) << r.output;
  // Run a after the resume: last train line iteration 30 (loss 0.7), the
  // repeated test at 30 replaced the one at 40, median speed of 100, 100, 300, 300.
  EXPECT_NE(r.output.find("a: iter 30 train loss 0.7, accuracy last 0.75 best 0.75"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("median 200.0 images/s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bf16: iter 0 train loss 3, accuracy last 0.25 best 0.25"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("accuracy (test net #1) last 0.125"), std::string::npos) << r.output;
  const size_t b_line = r.output.find("bf16: ");
  ASSERT_NE(b_line, std::string::npos) << r.output;
  EXPECT_EQ(r.output.substr(b_line, r.output.find('\n', b_line) - b_line).find("images/s"),
            std::string::npos)
      << "run b has no finite images/s\n"
      << r.output;

  write_file(dir_ + "/bad.jsonl", "{\"iter\":0,\"phase\":\"train\",\"loss\":1}\nloss=2\n");
  r = run_command(py + " " + kScript + " bad.jsonl --out bad.png", dir_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("bad.jsonl:2: not a JSON object"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ + "/bad.png"));
  r = run_command(py + " " + kScript + " missing.jsonl --out m.png", dir_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("missing.jsonl: cannot read"), std::string::npos) << r.output;
}

TEST_F(PlotCliTest, TrainPlotDrawsAtTestPassesAndAtTheEnd) {
  ASSERT_FALSE(plotting_python(dir_).empty())
      << "no python3 with matplotlib (Debian: python3-matplotlib)";
  make_dataset("train", 128, 1);
  make_dataset("test", 40, 2);
  write_net_and_solver(40, 0);
  RunResult r = run_command(kBin + "banyan train --solver=solver.prototxt --plot=curves.png", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("training curves: curves.png"), std::string::npos) << r.output;
  EXPECT_TRUE(is_png(read_all(dir_ + "/curves.png")));
  // The metrics file it plotted: the solver's own (snapshot_prefix).
  EXPECT_TRUE(fs::exists(dir_ + "/snap/q_metrics.jsonl"));

  r = run_command("BANYAN_PLOT_SCRIPT=nowhere/plot.py " + kBin +
                      "banyan train --solver=solver.prototxt --plot=c2.png",
                  dir_);
  EXPECT_EQ(r.exit_code, 2) << r.output;  // a missing file, as for --solver
  EXPECT_NE(r.output.find("--plot: cannot read the plotting script 'nowhere/plot.py'"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace banyan
