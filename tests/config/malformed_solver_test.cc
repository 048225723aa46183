// Malformed solver files: schedules, optimizers and net settings the loader
// rejects.  The expected message parts (file:line:col, field, value) are
// worked out from each text by hand.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/config/loader.h"

namespace banyan {
namespace {

struct BadConfig {
  const char* name;
  const char* text;
  StatusCode code;
  std::vector<std::string> expect;  // substrings of the message
};

constexpr StatusCode kInvalid = StatusCode::kInvalidArgument;
constexpr StatusCode kUnimplemented = StatusCode::kUnimplemented;

const BadConfig kCases[] = {
    {"unknown_solver_field",
     R"(net: "n.prototxt"
learning_rate: 0.1
)",
     kInvalid,
     {"bad_solver.prototxt:2:1: ", "\"learning_rate\""}},

    {"missing_net",
     R"(base_lr: 0.1
)",
     kInvalid,
     {"bad_solver.prototxt: net is missing"}},

    {"inline_net_param",
     R"(base_lr: 0.1
net_param {
  name: "inline"
}
)",
     kUnimplemented,
     {"bad_solver.prototxt:2:1: net_param", "not supported"}},

    {"base_lr_negative",
     R"(net: "n.prototxt"
base_lr: -0.1
)",
     kInvalid,
     {"bad_solver.prototxt:2:1: base_lr must be > 0, got -0.1"}},

    {"base_lr_not_set",
     R"(net: "n.prototxt"
max_iter: 10
)",
     kInvalid,
     {"bad_solver.prototxt: base_lr must be > 0, got 0 (not set)"}},

    {"unknown_lr_policy",
     R"(net: "n.prototxt"
base_lr: 0.1
lr_policy: "cosine"
)",
     kInvalid,
     {"bad_solver.prototxt:3:1: lr_policy 'cosine' is unknown", "multistep"}},

    {"step_without_stepsize",
     R"(net: "n.prototxt"
base_lr: 0.1
lr_policy: "step"
gamma: 0.1
)",
     kInvalid,
     {"bad_solver.prototxt:3:1: lr_policy 'step' needs stepsize"}},

    {"multistep_without_stepvalue",
     R"(net: "n.prototxt"
base_lr: 0.1
lr_policy: "multistep"
gamma: 0.1
)",
     kInvalid,
     {"bad_solver.prototxt:3:1: lr_policy 'multistep' needs stepvalue"}},

    {"stepvalue_not_increasing",
     R"(net: "n.prototxt"
base_lr: 0.1
lr_policy: "multistep"
gamma: 0.1
stepvalue: 500
stepvalue: 200
)",
     kInvalid,
     {"bad_solver.prototxt:6:1: stepvalue must be increasing", "got 200 after 500"}},

    {"negative_max_iter",
     R"(net: "n.prototxt"
base_lr: 0.1
max_iter: -1
)",
     kInvalid,
     {"bad_solver.prototxt:3:1: max_iter must be >= 0, got -1"}},

    {"zero_iter_size",
     R"(net: "n.prototxt"
base_lr: 0.1
iter_size: 0
)",
     kInvalid,
     {"bad_solver.prototxt:3:1: iter_size must be >= 1, got 0"}},

    {"test_iter_per_test_net",
     R"(net: "n.prototxt"
base_lr: 0.1
test_iter: 5
test_iter: 6
test_interval: 10
)",
     kInvalid,
     {"bad_solver.prototxt:4:1: test_iter is given 2 times for 1 test net"}},

    {"test_interval_without_test_iter",
     R"(net: "n.prototxt"
base_lr: 0.1
test_interval: 10
)",
     kInvalid,
     {"bad_solver.prototxt:3:1: test_interval needs test_iter"}},

    {"momentum_one",
     R"(net: "n.prototxt"
base_lr: 0.1
momentum: 1.0
)",
     kInvalid,
     {"bad_solver.prototxt:3:1: momentum must be in [0, 1), got 1"}},

    {"negative_weight_decay",
     R"(net: "n.prototxt"
base_lr: 0.1
weight_decay: -0.0005
)",
     kInvalid,
     {"bad_solver.prototxt:3:1: weight_decay must be >= 0, got -0.0005"}},

    {"unknown_regularization",
     R"(net: "n.prototxt"
base_lr: 0.1
regularization_type: "L3"
)",
     kInvalid,
     {"bad_solver.prototxt:3:1: regularization_type 'L3' is unknown"}},

    {"rmsprop_with_momentum",
     R"(net: "n.prototxt"
base_lr: 0.1
type: "RMSProp"
momentum: 0.9
)",
     kInvalid,
     {"bad_solver.prototxt:4:1: momentum must be 0 for RMSProp", "got 0.9"}},

    {"rmsprop_decay_out_of_range",
     R"(net: "n.prototxt"
base_lr: 0.1
type: "RMSProp"
rms_decay: 1.5
)",
     kInvalid,
     {"bad_solver.prototxt:4:1: rms_decay must be in [0, 1), got 1.5"}},

    {"unknown_type",
     R"(net: "n.prototxt"
base_lr: 0.1
type: "Sgd"
)",
     kInvalid,
     {"bad_solver.prototxt:3:1: type 'Sgd' is unknown",
      "SGD, Nesterov, AdaGrad, RMSProp, AdaDelta or Adam"}},

    {"type_and_solver_type",
     R"(net: "n.prototxt"
base_lr: 0.1
type: "Adam"
solver_type: ADAM
)",
     kInvalid,
     {"bad_solver.prototxt:4:1: solver_type and type are both given"}},

    {"negative_warmup",
     R"(net: "n.prototxt"
base_lr: 0.1
warmup_iter: -5
)",
     kInvalid,
     {"bad_solver.prototxt:3:1: warmup_iter must be >= 0, got -5"}},

    {"unknown_precision",
     R"(net: "n.prototxt"
base_lr: 0.1
precision: FP16
)",
     kInvalid,
     {"bad_solver.prototxt:3:12: ", "\"FP16\"", "\"precision\""}},
};

// Parses `c.text` as "bad_solver.prototxt" and checks the code and every part.
void expect_solver_error(const BadConfig& c) {
  SCOPED_TRACE(c.name);
  SolverConfig solver;
  Status s = parse_solver_config(c.text, "bad_solver.prototxt", &solver);
  ASSERT_FALSE(s.ok()) << c.name << ": loaded";
  EXPECT_TRUE(solver.net.empty()) << c.name << ": a failed load leaves a default config";
  EXPECT_EQ(s.code(), c.code) << c.name << ": " << s.to_string();
  for (const std::string& part : c.expect) {
    EXPECT_NE(s.message().find(part), std::string::npos)
        << c.name << ": expected '" << part << "' in\n  " << s.message();
  }
}

TEST(MalformedSolverTest, EachCaseNamesFileLineFieldAndValue) {
  for (const BadConfig& c : kCases) expect_solver_error(c);
}

TEST(MalformedSolverTest, MissingFilesAreNotFound) {
  const std::string path = "/nonexistent/banyan/solver.prototxt";
  SolverConfig solver;
  Status s = load_solver_config(path, &solver);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.to_string();
  EXPECT_NE(s.message().find("solver file '" + path + "'"), std::string::npos) << s.message();
}

TEST(MalformedSolverTest, ParseErrorsAreNotPrinted) {
  ::testing::internal::CaptureStderr();
  SolverConfig solver;
  Status s = parse_solver_config("base_lr: {", "quiet_solver.prototxt", &solver);
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(s.message().find("quiet_solver.prototxt:1:10: "), std::string::npos) << s.message();
  EXPECT_EQ(printed, "");
}

}  // namespace
}  // namespace banyan
