// Net state rules as Caffe has them: include/exclude with phase, stage,
// not_stage, min_level and max_level; the net's own `state`; the solver's
// train_state/test_state (one test net per test_state); Net::create
// building the layers of the state it is given.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/config/loader.h"
#include "engine/core/config.h"
#include "engine/net.h"
#include "engine/solver.h"

namespace banyan {
namespace {

NetState state(Phase phase, int level, std::vector<std::string> stages) {
  NetState s;
  s.phase = phase;
  s.level = level;
  s.stages = std::move(stages);
  return s;
}

TEST(NetStateTest, RuleMatchesWhenEveryGivenConditionHolds) {
  StateRule r;
  EXPECT_TRUE(r.matches(state(Phase::kTrain, 0, {})));  // an empty rule matches all
  r.phase = Phase::kTest;
  r.stages = {"a", "b"};
  r.not_stages = {"c"};
  r.min_level = 1;
  r.max_level = 2;
  EXPECT_TRUE(r.matches(state(Phase::kTest, 1, {"b", "a", "x"})));
  EXPECT_TRUE(r.matches(state(Phase::kTest, 2, {"a", "b"})));
  EXPECT_FALSE(r.matches(state(Phase::kTrain, 1, {"a", "b"})));      // phase
  EXPECT_FALSE(r.matches(state(Phase::kTest, 1, {"a"})));            // every stage
  EXPECT_FALSE(r.matches(state(Phase::kTest, 1, {"a", "b", "c"})));  // not_stage
  EXPECT_FALSE(r.matches(state(Phase::kTest, 0, {"a", "b"})));       // min_level
  EXPECT_FALSE(r.matches(state(Phase::kTest, 3, {"a", "b"})));       // max_level
}

// Include: any rule; exclude: none of the rules; neither: always.
TEST(NetStateTest, LayersChooseTheirStatesAsCaffeDoes) {
  NetConfig net;
  ASSERT_TRUE(parse_net_config(R"(name: "states"
state { level: 1 stage: "own" }
layer { name: "always" type: "ReLU" bottom: "x" top: "x" }
layer { name: "deploy" type: "ReLU" bottom: "x" top: "x"
  include { phase: TEST stage: "deploy" } include { stage: "export" } }
layer { name: "not_deploy" type: "ReLU" bottom: "x" top: "x" exclude { stage: "deploy" } }
layer { name: "high" type: "ReLU" bottom: "x" top: "x" include { min_level: 2 } }
layer { name: "own" type: "ReLU" bottom: "x" top: "x" include { stage: "own" not_stage: "deploy" } }
)",
                               "states.prototxt", &net)
                  .ok());
  EXPECT_EQ(net.state.level, 1);
  EXPECT_EQ(net.state.stages, (std::vector<std::string>{"own"}));
  auto names_in = [&](const NetState& s) {
    std::vector<std::string> names;
    for (const LayerConfig& l : net.layers) {
      if (l.in_state(s)) names.push_back(l.name);
    }
    return names;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(names_in(state(Phase::kTrain, 0, {})), (Names{"always", "not_deploy"}));
  EXPECT_EQ(names_in(state(Phase::kTest, 0, {"deploy"})), (Names{"always", "deploy"}));
  EXPECT_EQ(names_in(state(Phase::kTrain, 0, {"deploy"})), (Names{"always"}));
  EXPECT_EQ(names_in(state(Phase::kTrain, 0, {"export"})),
            (Names{"always", "deploy", "not_deploy"}));
  EXPECT_EQ(names_in(state(Phase::kTrain, 2, {"own"})),
            (Names{"always", "not_deploy", "high", "own"}));
  EXPECT_EQ(names_in(state(Phase::kTest, 5, {"own", "deploy"})),
            (Names{"always", "deploy", "high"}));

  // state_for: the config's level and stages in a phase, then an
  // override's level and added stages.
  NetState s = net.state_for(Phase::kTest);
  EXPECT_EQ(s.phase, Phase::kTest);
  EXPECT_EQ(s.level, 1);
  EXPECT_EQ(s.stages, (Names{"own"}));
  NetStateOverride o;
  o.level = 3;
  o.stages = {"deploy"};
  s = net.state_for(Phase::kTest, o);
  EXPECT_EQ(s.level, 3);
  EXPECT_EQ(s.stages, (Names{"own", "deploy"}));
  EXPECT_EQ(describe(s), "TEST (level 3, stages own, deploy)");
}

// Caffe's autoencoder pattern: one data layer per test stage, two test nets.
constexpr const char* kTwoTestStages = R"(name: "two"
layer { name: "data" type: "Input" top: "data" top: "label" include { phase: TRAIN }
  input_param { shape { dim: 4 dim: 6 } shape { dim: 4 } } }
layer { name: "data" type: "Input" top: "data" top: "label"
  include { phase: TEST stage: "test-on-train" }
  input_param { shape { dim: 2 dim: 6 } shape { dim: 2 } } }
layer { name: "data" type: "Input" top: "data" top: "label"
  include { phase: TEST stage: "test-on-test" }
  input_param { shape { dim: 3 dim: 6 } shape { dim: 3 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
  inner_product_param { num_output: 3 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
)";

TEST(NetStateTest, NetCreateBuildsTheLayersOfItsState) {
  NetConfig net;
  ASSERT_TRUE(parse_net_config(kTwoTestStages, "two.prototxt", &net).ok());
  WorkerContext ctx(Device::cpu(), 1);
  ASSERT_TRUE(ctx.init_device().ok());
  for (const auto& [stage, batch] :
       std::vector<std::pair<std::string, int>>{{"test-on-train", 2}, {"test-on-test", 3}}) {
    NetBuildOptions o;
    o.phase = Phase::kTest;
    o.state.stages = {stage};
    std::unique_ptr<Net> built;
    Status s = Net::create(net, o, &ctx, &built);
    ASSERT_TRUE(s.ok()) << s.to_string();
    EXPECT_EQ(built->batch_size(), batch) << stage;
  }
  // Two layers with parameters under one name in one state.
  NetConfig twice;
  ASSERT_TRUE(parse_net_config(std::string(kTwoTestStages) + R"(
layer { name: "ip" type: "InnerProduct" bottom: "ip" top: "ip2" include { stage: "twice" }
  inner_product_param { num_output: 3 } }
)",
                               "twice.prototxt", &twice)
                  .ok());
  NetBuildOptions both;
  both.phase = Phase::kTest;
  both.state.stages = {"test-on-test", "twice"};
  std::unique_ptr<Net> built;
  Status s = Net::create(twice, both, &ctx, &built);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("duplicate layer name 'ip'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("TEST (level 0, stages test-on-test, twice) net"), std::string::npos)
      << s.message();
  // No stage: the TEST net has no data layer.
  NetBuildOptions none;
  none.phase = Phase::kTest;
  s = Net::create(net, none, &ctx, &built);
  EXPECT_NE(s.message().find("bottom 'data' is not produced"), std::string::npos) << s.message();
}

TEST(NetStateTest, SolverStatesMakeOneTestNetEach) {
  SolverConfig sc;
  Status s = parse_solver_config(R"(net: "two.prototxt"
train_state { level: 0 stage: "extra" }
test_state { stage: "test-on-train" } test_iter: 5
test_state { stage: "test-on-test" } test_iter: 7
test_interval: 10 base_lr: 0.1 lr_policy: "fixed" max_iter: 1
)",
                                 "solver.prototxt", &sc);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(sc.test_iter, (std::vector<int>{5, 7}));
  ASSERT_EQ(sc.test_state.size(), 2u);
  EXPECT_EQ(sc.test_state[1].stages, (std::vector<std::string>{"test-on-test"}));
  EXPECT_FALSE(sc.test_state[1].level.has_value());
  EXPECT_EQ(sc.train_state.level, 0);
  EXPECT_EQ(sc.train_state.stages, (std::vector<std::string>{"extra"}));

  // The solver builds test net i in test_state[i]: batch 2, then 3.
  NetConfig net;
  ASSERT_TRUE(parse_net_config(kTwoTestStages, "two.prototxt", &net).ok());
  SolverOptions options;
  options.device = Device::cpu();
  std::unique_ptr<Solver> solver;
  s = Solver::create(sc, net, options, &solver);
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(solver->test_nets(0).size(), 2u);
  EXPECT_EQ(solver->test_nets(0)[0]->batch_size(), 2);
  EXPECT_EQ(solver->test_nets(0)[1]->batch_size(), 3);
  EXPECT_EQ(solver->train_net().batch_size(), 4);
  TestResults results;
  ASSERT_TRUE(solver->test_all(&results).ok());
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[1].at(0).first, "loss");

  s = parse_solver_config(R"(net: "two.prototxt"
test_state { stage: "a" } test_state { stage: "b" } test_iter: 5
base_lr: 0.1 lr_policy: "fixed"
)",
                          "solver.prototxt", &sc);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("test_iter"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("2 test_state(s)"), std::string::npos) << s.message();
  s = parse_solver_config(R"(net: "two.prototxt" test_state { phase: TRAIN } test_iter: 5
base_lr: 0.1 lr_policy: "fixed")",
                          "solver.prototxt", &sc);
  EXPECT_NE(s.message().find("test_state"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace banyan
