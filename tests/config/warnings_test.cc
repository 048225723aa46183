// Fields that do not change the maths load, each with exactly one warning
// that names file:line and the field.  Warnings are captured with a glog
// LogSink for the duration of one load.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "engine/config/loader.h"

namespace banyan {
namespace {

const std::string kConfig = std::string(BANYAN_FIXTURES_DIR) + "/config/";

// Collects WARNING messages while alive.
class WarningCapture : public google::LogSink {
 public:
  WarningCapture() { google::AddLogSink(this); }
  ~WarningCapture() override { google::RemoveLogSink(this); }
  WarningCapture(const WarningCapture&) = delete;
  WarningCapture& operator=(const WarningCapture&) = delete;

  void send(google::LogSeverity severity, const char* full_filename, const char* base_filename,
            int line, const google::LogMessageTime& time, const char* message,
            size_t message_len) override {
    if (severity != google::GLOG_WARNING) return;
    std::lock_guard<std::mutex> lock(mu_);
    messages_.emplace_back(message, message_len);
  }

  std::vector<std::string> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> messages_;
};

struct Expected {
  std::string place;  // "file:line:"
  std::string field;
};

// Every expected warning appears exactly once and nothing else was warned.
void expect_warnings(const std::vector<std::string>& got, const std::vector<Expected>& want) {
  std::string all;
  for (const std::string& m : got) all += "\n  " + m;
  EXPECT_EQ(got.size(), want.size()) << "warnings:" << all;
  for (const Expected& w : want) {
    int found = 0;
    for (const std::string& m : got) {
      if (m.find(w.place) == 0 && m.find("ignored: ") != std::string::npos &&
          m.find(w.field) != std::string::npos) {
        ++found;
      }
    }
    EXPECT_EQ(found, 1) << "warning for " << w.field << " at " << w.place << "; warnings:" << all;
  }
}

TEST(WarningsTest, NetFieldsThatDoNotChangeTheMaths) {
  const std::string path = kConfig + "ignored_fields.prototxt";
  WarningCapture capture;
  NetConfig net;
  Status s = load_net_config(path, &net);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(net.layers.size(), 6u);
  EXPECT_EQ(net.layers[0].data.batch_size, 4);
  EXPECT_EQ(net.layers[0].data.prefetch, 8);  // honoured by the input pipeline, no warning
  EXPECT_EQ(net.layers[1].convolution.kernel_h, 3);
  expect_warnings(capture.messages(), {{path + ":3:", "force_backward"},
                                       {path + ":4:", "debug_info"},
                                       {path + ":17:", "convolution_param.engine"},
                                       {path + ":19:", "relu_param.engine"},
                                       {path + ":21:", "pooling_param.engine"},
                                       {path + ":22:", "lrn_param.engine"},
                                       {path + ":23:", "softmax_param.engine"}});
}

TEST(WarningsTest, SolverFieldsThatDoNotChangeTheMaths) {
  const std::string path = kConfig + "ignored_solver.prototxt";
  WarningCapture capture;
  SolverConfig sc;
  Status s = load_solver_config(path, &sc);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_FLOAT_EQ(sc.base_lr, 0.1f);
  expect_warnings(capture.messages(), {{path + ":4:", "solver_mode"},
                                       {path + ":5:", "device_id"},
                                       {path + ":6:", "debug_info"},
                                       {path + ":7:", "snapshot_format"}});
}

TEST(WarningsTest, ParamBlockTheTypeDoesNotUse) {
  WarningCapture capture;
  NetConfig net;
  Status s = parse_net_config(
      "layer { name: 'r' type: 'ReLU' bottom: 'x' top: 'x'\n"
      "        pooling_param { kernel_size: 2 } }\n",
      "extra.prototxt", &net);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::vector<std::string> got = capture.messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].find("extra.prototxt:2:9: ignored: layer 'r': pooling_param"), 0u) << got[0];
  EXPECT_NE(got[0].find("'ReLU'"), std::string::npos) << got[0];
}

TEST(WarningsTest, DeployNetLoadsWithoutWarnings) {
  const std::string path =
      std::string(BANYAN_FIXTURES_DIR) + "/caffe/models/bvlc_alexnet/deploy.prototxt";
  WarningCapture capture;
  NetConfig net;
  ASSERT_TRUE(load_net_config(path, &net).ok());
  EXPECT_TRUE(capture.messages().empty());
}

}  // namespace
}  // namespace banyan
