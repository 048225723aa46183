// Tests of the learning-rate policies against their formulas, the linear
// warm-up, and the validation messages.
#include "engine/lr_policy.h"

#include <gtest/gtest.h>

#include <cmath>

namespace banyan {
namespace {

SolverConfig policy(const std::string& name) {
  SolverConfig c;
  c.source_file = "solver.prototxt";
  c.lr_policy = name;
  c.base_lr = 0.05f;
  c.gamma = 0.5f;
  c.power = 0.75f;
  c.stepsize = 10;
  c.max_iter = 100;
  return c;
}

TEST(LrPolicyTest, Fixed) {
  SolverConfig c = policy("fixed");
  ASSERT_TRUE(validate_lr_policy(c).ok());
  for (int64_t it : {0, 1, 57, 1000}) EXPECT_FLOAT_EQ(learning_rate(c, it), 0.05f);
}

TEST(LrPolicyTest, Step) {
  SolverConfig c = policy("step");
  ASSERT_TRUE(validate_lr_policy(c).ok());
  for (int64_t it : {0, 9, 10, 19, 25, 99}) {
    EXPECT_FLOAT_EQ(learning_rate(c, it), 0.05 * std::pow(0.5, std::floor(it / 10.0))) << it;
  }
  EXPECT_LT(learning_rate(c, 10), learning_rate(c, 9));
}

TEST(LrPolicyTest, ExpAndInv) {
  SolverConfig e = policy("exp");
  e.gamma = 0.97f;
  SolverConfig v = policy("inv");
  v.gamma = 0.01f;
  for (int64_t it : {0, 3, 40}) {
    const double ge = e.gamma, gv = v.gamma, power = v.power;
    EXPECT_FLOAT_EQ(learning_rate(e, it), 0.05 * std::pow(ge, it)) << it;
    EXPECT_FLOAT_EQ(learning_rate(v, it), 0.05 * std::pow(1.0 + gv * it, -power)) << it;
  }
}

TEST(LrPolicyTest, Multistep) {
  SolverConfig c = policy("multistep");
  c.stepvalue = {5, 12, 30};
  ASSERT_TRUE(validate_lr_policy(c).ok());
  EXPECT_FLOAT_EQ(learning_rate(c, 4), 0.05f);
  EXPECT_FLOAT_EQ(learning_rate(c, 5), 0.05 * 0.5);
  EXPECT_FLOAT_EQ(learning_rate(c, 11), 0.05 * 0.5);
  EXPECT_FLOAT_EQ(learning_rate(c, 12), 0.05 * 0.25);
  EXPECT_FLOAT_EQ(learning_rate(c, 500), 0.05 * 0.125);
}

TEST(LrPolicyTest, PolyAndSigmoid) {
  SolverConfig p = policy("poly");
  p.power = 2.0f;
  SolverConfig s = policy("sigmoid");
  s.gamma = -0.2f;
  for (int64_t it : {0, 25, 60, 99}) {
    EXPECT_FLOAT_EQ(learning_rate(p, it), 0.05 * std::pow(1.0 - it / 100.0, 2.0)) << it;
    const double gamma = s.gamma;
    EXPECT_FLOAT_EQ(learning_rate(s, it), 0.05 / (1.0 + std::exp(-gamma * (it - 10.0)))) << it;
  }
  EXPECT_FLOAT_EQ(learning_rate(p, 100), 0.0f);
}

TEST(LrPolicyTest, LinearWarmupReachesThePolicy) {
  SolverConfig c = policy("step");
  c.stepsize = 4;
  c.warmup_iter = 8;
  c.warmup_start_lr = 0.001f;
  ASSERT_TRUE(validate_lr_policy(c).ok());
  EXPECT_FLOAT_EQ(learning_rate(c, 0), 0.001f);
  for (int64_t it : {1, 3, 6, 7}) {
    const double policy = 0.05 * std::pow(0.5, std::floor(it / 4.0));
    EXPECT_FLOAT_EQ(learning_rate(c, it), 0.001 + (policy - 0.001) * it / 8.0) << it;
  }
  EXPECT_FLOAT_EQ(learning_rate(c, 8), 0.05 * 0.25);
  EXPECT_FLOAT_EQ(learning_rate(c, 9), 0.05 * 0.25);
}

void expect_invalid(const SolverConfig& c, const std::string& field) {
  Status s = validate_lr_policy(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << field;
  EXPECT_NE(s.message().find(field), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("solver.prototxt"), std::string::npos) << s.message();
}

TEST(LrPolicyTest, ValidationNamesTheField) {
  expect_invalid(policy("cosine"), "lr_policy");
  SolverConfig step = policy("step");
  step.stepsize = 0;
  expect_invalid(step, "stepsize");
  SolverConfig sig = policy("sigmoid");
  sig.stepsize = -3;
  expect_invalid(sig, "stepsize");
  SolverConfig multi = policy("multistep");
  expect_invalid(multi, "stepvalue");
  multi.stepvalue = {10, 5};
  expect_invalid(multi, "stepvalue");
  SolverConfig poly = policy("poly");
  poly.max_iter = 0;
  expect_invalid(poly, "max_iter");
  SolverConfig warm = policy("fixed");
  warm.warmup_iter = -1;
  expect_invalid(warm, "warmup_iter");
  SolverConfig base = policy("fixed");
  base.base_lr = -0.1f;
  expect_invalid(base, "base_lr");
}

}  // namespace
}  // namespace banyan
