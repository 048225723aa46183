// The gaussian filler's sparse form (Caffe's `sparse`): each value kept with
// probability sparse / outputs, the kept ones unchanged, the same for every
// fill with one key.
#include "layers/filler.h"

#include <gtest/gtest.h>

#include <cmath>

namespace banyan {
namespace {

TEST(FillerTest, SparseGaussianKeepsSparseOverOutputsOfTheValues) {
  Blob dense("w"), sparse("w");
  for (Blob* b : {&dense, &sparse}) {
    b->set_shape(Shape{50, 400});  // 50 outputs
    ASSERT_TRUE(b->allocate(Device::cpu()).ok());
  }
  FillerConfig f;
  f.type = "gaussian";
  f.std = 2.0f;
  ASSERT_TRUE(fill_param(f, 99, &dense).ok());
  f.sparse = 10;  // keep 10 / 50 = 20%
  ASSERT_TRUE(fill_param(f, 99, &sparse).ok());
  int64_t kept = 0;
  for (int64_t i = 0; i < sparse.count(); ++i) {
    if (sparse.data()[i] != 0.0f) {
      ++kept;
      ASSERT_EQ(sparse.data()[i], dense.data()[i]) << i;
    }
  }
  const double fraction = static_cast<double>(kept) / sparse.count();
  EXPECT_NEAR(fraction, 0.2, 0.01);  // 20000 draws: s.d. 0.003
  f.sparse = 0;
  ASSERT_TRUE(fill_param(f, 99, &sparse).ok());
  for (int64_t i = 0; i < sparse.count(); ++i) ASSERT_EQ(sparse.data()[i], 0.0f);
  Blob scalar("s");
  scalar.set_shape(Shape{});
  ASSERT_TRUE(scalar.allocate(Device::cpu()).ok());
  f.sparse = 1;
  const Status s = fill_param(f, 1, &scalar);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("first dimension"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace banyan
