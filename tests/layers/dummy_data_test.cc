// Tests of the DummyData layer: shapes and setup errors, Caffe's fill rule
// (constant tops written once, random ones every pass with new values per
// step), value ranges, and the per-element filler plan the GPU kernel uses
// against fill_param, value for value.
#include "layers/dummy_data.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "layers/element_filler.h"
#include "layers/filler.h"
#include "layers/registry.h"

namespace banyan {
namespace {

FillerConfig filler(const std::string& type) {
  FillerConfig f;
  f.type = type;
  return f;
}

LayerConfig dummy_config(std::vector<Shape> shapes, std::vector<FillerConfig> fillers, int tops) {
  LayerConfig c;
  c.name = "dummy";
  c.type = "DummyData";
  for (int i = 0; i < tops; ++i) c.top.push_back("t" + std::to_string(i));
  c.dummy_data.shapes = std::move(shapes);
  c.dummy_data.fillers = std::move(fillers);
  return c;
}

// A DummyData layer with allocated tops on the CPU.
struct DummyRun {
  DummyRun(const LayerConfig& c, int tops) : layer(new_dummy_data_layer(c)), ctx(Device::cpu(), 7) {
    for (int i = 0; i < tops; ++i) blobs.push_back(std::make_unique<Blob>("t" + std::to_string(i)));
    for (auto& b : blobs) ptrs.push_back(b.get());
  }
  Status setup() {
    BANYAN_RETURN_IF_ERROR(layer->setup({}, ptrs));
    for (Blob* b : ptrs) BANYAN_RETURN_IF_ERROR(b->allocate(Device::cpu()));
    return Status::success();
  }
  std::vector<float> run(Phase phase, int64_t sample_base, int top) {
    ctx.step().phase = phase;
    ctx.step().sample_base = sample_base;
    layer->forward({}, ptrs, ctx);
    return std::vector<float>(ptrs[top]->data(), ptrs[top]->data() + ptrs[top]->count());
  }
  std::unique_ptr<Layer> layer;
  WorkerContext ctx;
  std::vector<std::unique_ptr<Blob>> blobs;
  std::vector<Blob*> ptrs;
};

TEST(DummyDataTest, ShapesOneOrPerTop) {
  DummyRun one(dummy_config({Shape{2, 3, 4}}, {}, 3), 3);
  ASSERT_TRUE(one.setup().ok());
  for (Blob* b : one.ptrs) EXPECT_EQ(b->shape(), (Shape{2, 3, 4}));
  DummyRun per(dummy_config({Shape{5, 1}, Shape{5}}, {}, 2), 2);
  ASSERT_TRUE(per.setup().ok());
  EXPECT_EQ(per.ptrs[0]->shape(), (Shape{5, 1}));
  EXPECT_EQ(per.ptrs[1]->shape(), (Shape{5}));
  EXPECT_FALSE(per.layer->can_propagate_down(0));
  // No filler: constant 0.
  for (float v : per.run(Phase::kTrain, 0, 1)) EXPECT_EQ(v, 0.0f);
}

TEST(DummyDataTest, SetupErrorsNameTheLayer) {
  struct Case {
    LayerConfig config;
    int tops;
    const char* message;
  };
  std::vector<Case> cases = {
      {dummy_config({Shape{2}, Shape{3}}, {}, 3), 3, "2 shapes for 3 tops"},
      {dummy_config({Shape{2}}, {filler("constant"), filler("uniform")}, 3), 3,
       "2 fillers for 3 tops"},
      {dummy_config({Shape{2, 0}}, {}, 1), 1, "dimensions must be > 0"},
      {dummy_config({Shape{2}}, {filler("bilinear")}, 1), 1, "unknown filler type 'bilinear'"},
      {dummy_config({Shape{2}}, {}, 0), 0, "top"},
  };
  for (Case& c : cases) {
    DummyRun r(c.config, c.tops);
    Status s = r.setup();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.message;
    EXPECT_NE(s.message().find("layer 'dummy'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.message();
  }
}

TEST(DummyDataTest, ConstantTopsFilledOnceRandomTopsEveryPass) {
  FillerConfig constant = filler("constant");
  constant.value = 2.5f;
  FillerConfig uniform = filler("uniform");
  uniform.min = -3.0f;
  uniform.max = 5.0f;
  DummyRun r(dummy_config({Shape{4, 6}}, {constant, uniform}, 2), 2);
  ASSERT_TRUE(r.setup().ok());
  std::vector<float> c0 = r.run(Phase::kTrain, 0, 0);
  std::vector<float> u0(r.ptrs[1]->data(), r.ptrs[1]->data() + 24);
  for (float v : c0) EXPECT_EQ(v, 2.5f);
  for (float v : u0) {
    EXPECT_GE(v, -3.0f);
    EXPECT_LT(v, 5.0f);
  }
  // Caffe writes a constant top once: a value changed downstream stays.
  r.ptrs[0]->data()[3] = -1.0f;
  std::vector<float> c1 = r.run(Phase::kTrain, 24, 0);
  EXPECT_EQ(c1[3], -1.0f);
  std::vector<float> u1(r.ptrs[1]->data(), r.ptrs[1]->data() + 24);
  EXPECT_NE(u0, u1);  // a new draw per step
  // The same step draws the same values (another layer, same seed); the
  // other phase draws others.
  DummyRun again(dummy_config({Shape{4, 6}}, {constant, uniform}, 2), 2);
  ASSERT_TRUE(again.setup().ok());
  EXPECT_EQ(again.run(Phase::kTrain, 0, 1), u0);
  EXPECT_NE(again.run(Phase::kTest, 0, 1), u0);
}

TEST(DummyDataTest, GaussianTopHasItsMoments) {
  FillerConfig g = filler("gaussian");
  g.mean = 3.0f;
  g.std = 0.5f;
  DummyRun r(dummy_config({Shape{100, 100}}, {g}, 1), 1);
  ASSERT_TRUE(r.setup().ok());
  std::vector<float> v = r.run(Phase::kTrain, 0, 0);
  double sum = 0, sq = 0;
  for (float x : v) sum += x;
  const double mean = sum / v.size();
  for (float x : v) sq += (x - mean) * (x - mean);
  EXPECT_NEAR(mean, 3.0, 0.02);
  EXPECT_NEAR(std::sqrt(sq / v.size()), 0.5, 0.02);
}

// The GPU kernel evaluates element_fill; on the host it must give exactly
// what fill_param writes, for every filler type.
TEST(DummyDataTest, ElementFillerMatchesFillParam) {
  std::vector<FillerConfig> fillers;
  FillerConfig f = filler("constant");
  f.value = -0.75f;
  fillers.push_back(f);
  f = filler("uniform");
  f.min = -2.0f;
  f.max = 0.5f;
  fillers.push_back(f);
  f = filler("gaussian");
  f.mean = 1.5f;
  f.std = 0.3f;
  fillers.push_back(f);
  f.sparse = 2;
  fillers.push_back(f);
  for (auto norm : {FillerConfig::VarianceNorm::kFanIn, FillerConfig::VarianceNorm::kFanOut,
                    FillerConfig::VarianceNorm::kAverage}) {
    for (const char* type : {"xavier", "msra"}) {
      f = filler(type);
      f.variance_norm = norm;
      fillers.push_back(f);
    }
  }
  const Shape shape{6, 4, 5};
  const uint64_t key = 0x1234abcdULL;
  for (const FillerConfig& fc : fillers) {
    Blob blob("b");
    blob.set_shape(shape);
    ASSERT_TRUE(blob.allocate(Device::cpu()).ok());
    ASSERT_TRUE(fill_param(fc, key, &blob).ok());
    ElementFiller plan;
    ASSERT_TRUE(plan_element_filler(fc, shape, &plan).ok()) << fc.type;
    int nonzero = 0;
    for (int64_t i = 0; i < blob.count(); ++i) {
      ASSERT_EQ(element_fill(plan, key, static_cast<uint64_t>(i)), blob.data()[i])
          << fc.type << " element " << i;
      nonzero += blob.data()[i] != 0.0f;
    }
    EXPECT_GT(nonzero, 0) << fc.type;
  }
}

}  // namespace
}  // namespace banyan
