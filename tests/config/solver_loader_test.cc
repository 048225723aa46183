// Solver configs: every field of tests/fixtures/config/solver_adam.prototxt,
// the solver type spellings (string and legacy enum), defaults, and
// ResolveNetPath relative to the solver file.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/config/loader.h"

namespace banyan {
namespace {

const std::string kConfig = std::string(BANYAN_FIXTURES_DIR) + "/config/";

TEST(SolverLoaderTest, EveryFieldOfTheAdamSolver) {
  SolverConfig sc;
  Status s = load_solver_config(kConfig + "solver_adam.prototxt", &sc);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(sc.source_file, kConfig + "solver_adam.prototxt");
  EXPECT_EQ(sc.net, "all_layers.prototxt");
  EXPECT_EQ(sc.test_iter, (std::vector<int>{20}));
  EXPECT_EQ(sc.test_interval, 250);
  EXPECT_FALSE(sc.test_initialization);
  EXPECT_FLOAT_EQ(sc.base_lr, 0.001f);
  EXPECT_EQ(sc.lr_policy, "multistep");
  EXPECT_FLOAT_EQ(sc.gamma, 0.5f);
  EXPECT_EQ(sc.stepvalue, (std::vector<int>{1000, 3000}));
  EXPECT_EQ(sc.max_iter, 4000);
  EXPECT_EQ(sc.iter_size, 2);
  EXPECT_EQ(sc.type, SolverConfig::Type::kAdam);
  EXPECT_FLOAT_EQ(sc.momentum, 0.9f);
  EXPECT_FLOAT_EQ(sc.momentum2, 0.99f);
  EXPECT_FLOAT_EQ(sc.delta, 1e-6f);
  EXPECT_FLOAT_EQ(sc.weight_decay, 0.0001f);
  EXPECT_EQ(sc.regularization_type, "L1");
  EXPECT_FLOAT_EQ(sc.clip_gradients, 10.0f);
  EXPECT_EQ(sc.display, 50);
  EXPECT_EQ(sc.average_loss, 20);
  EXPECT_EQ(sc.snapshot, 500);
  EXPECT_EQ(sc.snapshot_prefix, "out/all_layers");
  EXPECT_FALSE(sc.snapshot_after_train);
  EXPECT_EQ(sc.random_seed, 1701);
  EXPECT_EQ(sc.precision, SolverConfig::Precision::kBFloat16);
  EXPECT_EQ(sc.warmup_iter, 100);
  EXPECT_FLOAT_EQ(sc.warmup_start_lr, 0.0001f);
  EXPECT_EQ(sc.exchange_precision, WirePrecision::kFp16);
}

TEST(SolverLoaderTest, Defaults) {
  SolverConfig sc;
  Status s = parse_solver_config("net: 'n.prototxt' base_lr: 0.5\n", "min.prototxt", &sc);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(sc.lr_policy, "fixed");
  EXPECT_EQ(sc.type, SolverConfig::Type::kSgd);
  EXPECT_EQ(sc.random_seed, -1);
  EXPECT_EQ(sc.iter_size, 1);
  EXPECT_EQ(sc.average_loss, 1);
  EXPECT_FLOAT_EQ(sc.clip_gradients, -1.0f);
  EXPECT_EQ(sc.regularization_type, "L2");
  EXPECT_EQ(sc.precision, SolverConfig::Precision::kFloat32);
  EXPECT_EQ(sc.exchange_precision, WirePrecision::kFloat32);
  EXPECT_TRUE(sc.test_iter.empty());
  EXPECT_TRUE(sc.snapshot_after_train);
  EXPECT_EQ(sc.source_file, "min.prototxt");
}

struct TypeCase {
  const char* line;
  SolverConfig::Type type;
};

TEST(SolverLoaderTest, SolverTypeSpellings) {
  const TypeCase cases[] = {
      {"type: 'SGD'", SolverConfig::Type::kSgd},
      {"type: 'Nesterov'", SolverConfig::Type::kNesterov},
      {"type: 'AdaGrad'", SolverConfig::Type::kAdaGrad},
      {"type: 'Adam'", SolverConfig::Type::kAdam},
      {"solver_type: SGD", SolverConfig::Type::kSgd},
      {"solver_type: NESTEROV", SolverConfig::Type::kNesterov},
      {"solver_type: ADAGRAD", SolverConfig::Type::kAdaGrad},
      {"solver_type: ADAM", SolverConfig::Type::kAdam},
      {"type: 'RMSProp'", SolverConfig::Type::kRmsProp},
      {"type: 'AdaDelta'\nmomentum: 0.95", SolverConfig::Type::kAdaDelta},
      {"solver_type: RMSPROP", SolverConfig::Type::kRmsProp},
      {"solver_type: ADADELTA", SolverConfig::Type::kAdaDelta},
  };
  for (const TypeCase& c : cases) {
    SolverConfig sc;
    sc.type =
        c.type == SolverConfig::Type::kAdam ? SolverConfig::Type::kSgd : SolverConfig::Type::kAdam;
    const std::string text = std::string("net: 'n.prototxt'\nbase_lr: 0.1\n") + c.line + "\n";
    Status s = parse_solver_config(text, "t.prototxt", &sc);
    ASSERT_TRUE(s.ok()) << c.line << ": " << s.message();
    EXPECT_EQ(sc.type, c.type) << c.line;
  }
}

TEST(SolverLoaderTest, TrainNetAndTestNetSpelling) {
  SolverConfig sc;
  Status s = parse_solver_config(
      "train_net: 'train.prototxt'\ntest_net: 'test.prototxt'\ntest_iter: 7\n"
      "test_interval: 9\nbase_lr: 0.1\nlr_policy: 'poly'\npower: 2\nmax_iter: 90\n",
      "t.prototxt", &sc);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(sc.net.empty());
  EXPECT_EQ(sc.train_net, "train.prototxt");
  EXPECT_EQ(sc.test_net, "test.prototxt");
  EXPECT_EQ(sc.test_iter, (std::vector<int>{7}));
  EXPECT_EQ(sc.lr_policy, "poly");
  EXPECT_FLOAT_EQ(sc.power, 2.0f);
}

TEST(SolverLoaderTest, ResolveNetPathBesideTheSolver) {
  SolverConfig sc;
  ASSERT_TRUE(load_solver_config(kConfig + "solver_adam.prototxt", &sc).ok());
  std::string path;
  Status s = resolve_net_path(sc, &path);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(path, kConfig + "all_layers.prototxt");
  NetConfig net;
  EXPECT_TRUE(load_net_config(path, &net).ok());
}

TEST(SolverLoaderTest, ResolveNetPathAsWrittenWhenItExists) {
  SolverConfig sc;
  sc.source_file = "/nowhere/solver.prototxt";
  sc.train_net = kConfig + "legacy_input_dim.prototxt";
  std::string path;
  Status s = resolve_net_path(sc, &path);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(path, sc.train_net);
}

TEST(SolverLoaderTest, ResolveNetPathNamesEveryTriedPath) {
  SolverConfig sc;
  sc.source_file = kConfig + "solver_adam.prototxt";
  sc.net = "missing_net.prototxt";
  std::string path = "unchanged";
  Status s = resolve_net_path(sc, &path);
  ASSERT_EQ(s.code(), StatusCode::kNotFound) << s.message();
  EXPECT_NE(s.message().find("'missing_net.prototxt'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(kConfig + "missing_net.prototxt"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(sc.source_file), std::string::npos) << s.message();
  EXPECT_EQ(path, "unchanged");

  sc.net.clear();
  EXPECT_EQ(resolve_net_path(sc, &path).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace banyan
