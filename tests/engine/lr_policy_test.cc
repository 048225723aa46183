// Tests of the learning-rate policies against their formulas, the linear
// warm-up, and the validation messages.
#include "engine/lr_policy.h"

#include <gtest/gtest.h>

#include <cmath>

namespace banyan {
namespace {

SolverConfig Policy(const std::string& name) {
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
  SolverConfig c = Policy("fixed");
  ASSERT_TRUE(ValidateLrPolicy(c).ok());
  for (int64_t it : {0, 1, 57, 1000}) EXPECT_FLOAT_EQ(LearningRate(c, it), 0.05f);
}

TEST(LrPolicyTest, Step) {
  SolverConfig c = Policy("step");
  ASSERT_TRUE(ValidateLrPolicy(c).ok());
  for (int64_t it : {0, 9, 10, 19, 25, 99}) {
    EXPECT_FLOAT_EQ(LearningRate(c, it), 0.05 * std::pow(0.5, std::floor(it / 10.0))) << it;
  }
  EXPECT_LT(LearningRate(c, 10), LearningRate(c, 9));
}

TEST(LrPolicyTest, ExpAndInv) {
  SolverConfig e = Policy("exp");
  e.gamma = 0.97f;
  SolverConfig v = Policy("inv");
  v.gamma = 0.01f;
  for (int64_t it : {0, 3, 40}) {
    const double ge = e.gamma, gv = v.gamma, power = v.power;
    EXPECT_FLOAT_EQ(LearningRate(e, it), 0.05 * std::pow(ge, it)) << it;
    EXPECT_FLOAT_EQ(LearningRate(v, it), 0.05 * std::pow(1.0 + gv * it, -power)) << it;
  }
}

TEST(LrPolicyTest, Multistep) {
  SolverConfig c = Policy("multistep");
  c.stepvalue = {5, 12, 30};
  ASSERT_TRUE(ValidateLrPolicy(c).ok());
  EXPECT_FLOAT_EQ(LearningRate(c, 4), 0.05f);
  EXPECT_FLOAT_EQ(LearningRate(c, 5), 0.05 * 0.5);
  EXPECT_FLOAT_EQ(LearningRate(c, 11), 0.05 * 0.5);
  EXPECT_FLOAT_EQ(LearningRate(c, 12), 0.05 * 0.25);
  EXPECT_FLOAT_EQ(LearningRate(c, 500), 0.05 * 0.125);
}

TEST(LrPolicyTest, PolyAndSigmoid) {
  SolverConfig p = Policy("poly");
  p.power = 2.0f;
  SolverConfig s = Policy("sigmoid");
  s.gamma = -0.2f;
  for (int64_t it : {0, 25, 60, 99}) {
    EXPECT_FLOAT_EQ(LearningRate(p, it), 0.05 * std::pow(1.0 - it / 100.0, 2.0)) << it;
    const double gamma = s.gamma;
    EXPECT_FLOAT_EQ(LearningRate(s, it), 0.05 / (1.0 + std::exp(-gamma * (it - 10.0)))) << it;
  }
  EXPECT_FLOAT_EQ(LearningRate(p, 100), 0.0f);
}

TEST(LrPolicyTest, LinearWarmupReachesThePolicy) {
  SolverConfig c = Policy("step");
  c.stepsize = 4;
  c.warmup_iter = 8;
  c.warmup_start_lr = 0.001f;
  ASSERT_TRUE(ValidateLrPolicy(c).ok());
  EXPECT_FLOAT_EQ(LearningRate(c, 0), 0.001f);
  for (int64_t it : {1, 3, 6, 7}) {
    const double policy = 0.05 * std::pow(0.5, std::floor(it / 4.0));
    EXPECT_FLOAT_EQ(LearningRate(c, it), 0.001 + (policy - 0.001) * it / 8.0) << it;
  }
  EXPECT_FLOAT_EQ(LearningRate(c, 8), 0.05 * 0.25);
  EXPECT_FLOAT_EQ(LearningRate(c, 9), 0.05 * 0.25);
}

void ExpectInvalid(const SolverConfig& c, const std::string& field) {
  Status s = ValidateLrPolicy(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << field;
  EXPECT_NE(s.message().find(field), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("solver.prototxt"), std::string::npos) << s.message();
}

TEST(LrPolicyTest, ValidationNamesTheField) {
  ExpectInvalid(Policy("cosine"), "lr_policy");
  SolverConfig step = Policy("step");
  step.stepsize = 0;
  ExpectInvalid(step, "stepsize");
  SolverConfig sig = Policy("sigmoid");
  sig.stepsize = -3;
  ExpectInvalid(sig, "stepsize");
  SolverConfig multi = Policy("multistep");
  ExpectInvalid(multi, "stepvalue");
  multi.stepvalue = {10, 5};
  ExpectInvalid(multi, "stepvalue");
  SolverConfig poly = Policy("poly");
  poly.max_iter = 0;
  ExpectInvalid(poly, "max_iter");
  SolverConfig warm = Policy("fixed");
  warm.warmup_iter = -1;
  ExpectInvalid(warm, "warmup_iter");
  SolverConfig base = Policy("fixed");
  base.base_lr = -0.1f;
  ExpectInvalid(base, "base_lr");
}

}  // namespace
}  // namespace banyan
