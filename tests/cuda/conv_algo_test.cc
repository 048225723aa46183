// The convolution algorithm chooser on a small grouped, strided, padded
// shape: the chosen forward / backward-data / backward-filter algorithms and
// a fixed alternative each agree with a direct CPU convolution; the fixed
// (deterministic) choice is the same for every batch size; every algorithm
// runs with exactly its settled workspace; results are cached by shape; bad
// geometry is reported, not fatal.
#include "cuda/conv_algo.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "cuda/check.h"
#include "cuda/elementwise.h"
#include "cuda/handles.h"
#include "tests/cuda/cuda_test_util.h"

namespace banyan::cuda_testing {
namespace {

cuda::ConvGeometry geometry() {
  cuda::ConvGeometry g;
  g.N = 2, g.C = 4, g.H = 9, g.W = 10;
  g.K = 6, g.R = 3, g.S = 3;
  g.pad_h = 1, g.pad_w = 1, g.stride_h = 2, g.stride_w = 1;
  g.groups = 2;
  return g;
}

// Calls fn(n, k, c, cc, oh, ow, ih, iw, r, s) for every multiply of the
// direct convolution (NCHW, filters (K, C / groups, R, S)): c is the input
// channel, cc its index within the filter's group.
template <typename Fn>
void for_each_tap(const cuda::ConvGeometry& g, Fn fn) {
  const int kg = g.K / g.groups, cg = g.C / g.groups;
  for (int n = 0; n < g.N; ++n)
    for (int k = 0; k < g.K; ++k)
      for (int oh = 0; oh < g.out_h(); ++oh)
        for (int ow = 0; ow < g.out_w(); ++ow)
          for (int cc = 0; cc < cg; ++cc)
            for (int r = 0; r < g.R; ++r)
              for (int s = 0; s < g.S; ++s) {
                const int ih = oh * g.stride_h - g.pad_h + r * g.dilation_h;
                const int iw = ow * g.stride_w - g.pad_w + s * g.dilation_w;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                fn(n, k, (k / kg) * cg + cc, cc, oh, ow, ih, iw, r, s);
              }
}

class ConvAlgoTest : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::string error;
    ASSERT_TRUE(handle_.create(0, stream(), &error)) << error;
  }

  void expect_near(const char* what, const cuda::DeviceBuffer& d, const std::vector<double>& want) {
    const std::vector<float> got = download<float>(d, want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      // FFT and Winograd algorithms are less exact than a direct sum.
      ASSERT_NEAR(got[i], want[i], 1e-3 * std::max(1.0, std::abs(want[i])))
          << what << " element " << i;
    }
  }

  cuda::CudnnHandle handle_;
};

TEST_F(ConvAlgoTest, ChosenAlgorithmsAgreeWithCpu) {
  const cuda::ConvGeometry g = geometry();
  ASSERT_EQ(g.validate(), "");
  const size_t nx = static_cast<size_t>(g.N) * g.C * g.H * g.W;
  const size_t nw = static_cast<size_t>(g.K) * (g.C / g.groups) * g.R * g.S;
  const size_t ny = static_cast<size_t>(g.N) * g.K * g.out_h() * g.out_w();
  const std::vector<float> x = random_floats(nx, 71), w = random_floats(nw, 72),
                           dy = random_floats(ny, 73);
  const int cg = g.C / g.groups;
  auto xi = [&](int n, int c, int h, int wd) {
    return ((size_t(n) * g.C + c) * g.H + h) * g.W + wd;
  };
  auto wi = [&](int k, int cc, int r, int s) {
    return ((size_t(k) * cg + cc) * g.R + r) * g.S + s;
  };
  auto yi = [&](int n, int k, int h, int wd) {
    return ((size_t(n) * g.K + k) * g.out_h() + h) * g.out_w() + wd;
  };
  std::vector<double> y_ref(ny, 0.0), dx_ref(nx, 0.0), dw_ref(nw, 0.0);
  for_each_tap(g, [&](int n, int k, int c, int cc, int oh, int ow, int ih, int iw, int r, int s) {
    y_ref[yi(n, k, oh, ow)] += double(x[xi(n, c, ih, iw)]) * w[wi(k, cc, r, s)];
    dx_ref[xi(n, c, ih, iw)] += double(dy[yi(n, k, oh, ow)]) * w[wi(k, cc, r, s)];
    dw_ref[wi(k, cc, r, s)] += double(dy[yi(n, k, oh, ow)]) * x[xi(n, c, ih, iw)];
  });

  const size_t ws_bytes = size_t{64} << 20;
  cuda::DeviceBuffer dx_in = upload(x), dw_in = upload(w), ddy = upload(dy);
  cuda::DeviceBuffer sy = poisoned(ny * 4), sdx = poisoned(nx * 4), sdw = poisoned(nw * 4);
  cuda::DeviceBuffer ws = poisoned(ws_bytes);
  cuda::ConvScratch scratch{dx_in.data(), dw_in.data(), sy.data(), sdx.data(),
                            sdw.data(),   ws.data(),    ws_bytes};
  cuda::ConvAlgoCache cache(ws_bytes);
  cuda::ConvAlgos algos;
  std::string error;
  ASSERT_TRUE(cache.choose(handle_.get(), g, scratch, &algos, &error)) << error;
  EXPECT_LE(algos.max_workspace(), ws_bytes);

  cuda::ConvDescriptors d;
  d.set(g);
  const float one = 1.0f, zero = 0.0f;
  struct Run {
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t data;
    cudnnConvolutionBwdFilterAlgo_t filter;
  };
  for (const Run& run :
       {Run{algos.forward, algos.backward_data, algos.backward_filter},
        Run{CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
            CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1}}) {
    SCOPED_TRACE(::testing::Message()
                 << "algorithms " << run.fwd << "/" << run.data << "/" << run.filter);
    cuda::DeviceBuffer y = poisoned(ny * 4), dx = poisoned(nx * 4), dw = poisoned(nw * 4);
    d.conv.set_math_type(algos.forward_math);
    BANYAN_CUDNN_CHECK(cudnnConvolutionForward(handle_.get(), &one, d.x.get(), dx_in.data(),
                                               d.w.get(), dw_in.data(), d.conv.get(), run.fwd,
                                               ws.data(), ws_bytes, &zero, d.y.get(), y.data()));
    d.conv.set_math_type(algos.backward_data_math);
    BANYAN_CUDNN_CHECK(cudnnConvolutionBackwardData(
        handle_.get(), &one, d.w.get(), dw_in.data(), d.y.get(), ddy.data(), d.conv.get(), run.data,
        ws.data(), ws_bytes, &zero, d.x.get(), dx.data()));
    d.conv.set_math_type(algos.backward_filter_math);
    BANYAN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
        handle_.get(), &one, d.x.get(), dx_in.data(), d.y.get(), ddy.data(), d.conv.get(),
        run.filter, ws.data(), ws_bytes, &zero, d.w.get(), dw.data()));
    expect_near("y", y, y_ref);
    expect_near("dx", dx, dx_ref);
    expect_near("dw", dw, dw_ref);
  }
}

// The fixed (deterministic-mode) choice does not depend on the batch size,
// and every chosen algorithm, fixed or measured, runs with exactly the
// workspace settle_conv_workspaces reports for the math type it runs with
// (FMA here: TF32 off), giving the CPU's results.
TEST_F(ConvAlgoTest, FixedChoiceAndSettledWorkspacesRun) {
  cuda::ConvGeometry base = geometry();
  cuda::ConvAlgos fixed_first;
  for (int n : {2, 5}) {
    cuda::ConvGeometry g = base;
    g.N = n;
    SCOPED_TRACE("N = " + std::to_string(n));
    const size_t nx = static_cast<size_t>(g.N) * g.C * g.H * g.W;
    const size_t nw = static_cast<size_t>(g.K) * (g.C / g.groups) * g.R * g.S;
    const size_t ny = static_cast<size_t>(g.N) * g.K * g.out_h() * g.out_w();
    const std::vector<float> x = random_floats(nx, 81 + n), w = random_floats(nw, 82),
                             dy = random_floats(ny, 83 + n);
    const int cg = g.C / g.groups;
    std::vector<double> y_ref(ny, 0.0), dx_ref(nx, 0.0), dw_ref(nw, 0.0);
    for_each_tap(g, [&](int b, int k, int c, int cc, int oh, int ow, int ih, int iw, int r, int s) {
      const size_t xi = ((size_t(b) * g.C + c) * g.H + ih) * g.W + iw;
      const size_t wi = ((size_t(k) * cg + cc) * g.R + r) * g.S + s;
      const size_t yi = ((size_t(b) * g.K + k) * g.out_h() + oh) * g.out_w() + ow;
      y_ref[yi] += double(x[xi]) * w[wi];
      dx_ref[xi] += double(dy[yi]) * w[wi];
      dw_ref[wi] += double(dy[yi]) * x[xi];
    });
    const size_t limit = size_t{64} << 20;
    cuda::DeviceBuffer dx_in = upload(x), dw_in = upload(w), ddy = upload(dy);
    cuda::ConvDescriptors d;
    d.set(g);
    cuda::ConvAlgos fixed, measured;
    std::string error;
    ASSERT_TRUE(cuda::choose_fixed_conv_algos(handle_.get(), d, limit, &fixed, &error)) << error;
    if (n == 2) {
      fixed_first = fixed;
    } else {
      EXPECT_EQ(fixed.forward, fixed_first.forward);
      EXPECT_EQ(fixed.backward_data, fixed_first.backward_data);
      EXPECT_EQ(fixed.backward_filter, fixed_first.backward_filter);
    }
    {
      cuda::DeviceBuffer sy = poisoned(ny * 4), sdx = poisoned(nx * 4), sdw = poisoned(nw * 4),
                         ws = poisoned(limit);
      const cuda::ConvScratch scratch{dx_in.data(), dw_in.data(), sy.data(), sdx.data(),
                                      sdw.data(),   ws.data(),    limit};
      cuda::ConvAlgoCache cache(limit);
      ASSERT_TRUE(cache.choose(handle_.get(), g, scratch, &measured, &error)) << error;
    }
    for (cuda::ConvAlgos algos : {fixed, measured}) {
      SCOPED_TRACE(::testing::Message() << "algorithms " << algos.forward << "/"
                                        << algos.backward_data << "/" << algos.backward_filter);
      cuda::ConvDesc data_desc, filter_desc;
      for (cuda::ConvDesc* c : {&data_desc, &filter_desc}) {
        c->set(g.pad_h, g.pad_w, g.stride_h, g.stride_w, g.dilation_h, g.dilation_w, g.groups,
               g.type, false);
        c->set_math_type(CUDNN_FMA_MATH);
      }
      d.conv.set_math_type(CUDNN_FMA_MATH);
      ASSERT_TRUE(
          cuda::settle_conv_workspaces(handle_.get(), d, data_desc, filter_desc, &algos, &error))
          << error;
      // Workspaces of exactly the settled sizes (at least 1 byte to allocate).
      cuda::DeviceBuffer wf = poisoned(std::max<size_t>(algos.forward_workspace, 1));
      cuda::DeviceBuffer wd = poisoned(std::max<size_t>(algos.backward_data_workspace, 1));
      cuda::DeviceBuffer wb = poisoned(std::max<size_t>(algos.backward_filter_workspace, 1));
      cuda::DeviceBuffer y = poisoned(ny * 4), dx = poisoned(nx * 4), dw = poisoned(nw * 4);
      const float one = 1.0f, zero = 0.0f;
      ASSERT_EQ(cudnnConvolutionForward(handle_.get(), &one, d.x.get(), dx_in.data(), d.w.get(),
                                        dw_in.data(), d.conv.get(), algos.forward, wf.data(),
                                        algos.forward_workspace, &zero, d.y.get(), y.data()),
                CUDNN_STATUS_SUCCESS);
      ASSERT_EQ(
          cudnnConvolutionBackwardData(handle_.get(), &one, d.w.get(), dw_in.data(), d.y.get(),
                                       ddy.data(), data_desc.get(), algos.backward_data, wd.data(),
                                       algos.backward_data_workspace, &zero, d.x.get(), dx.data()),
          CUDNN_STATUS_SUCCESS);
      ASSERT_EQ(cudnnConvolutionBackwardFilter(
                    handle_.get(), &one, d.x.get(), dx_in.data(), d.y.get(), ddy.data(),
                    filter_desc.get(), algos.backward_filter, wb.data(),
                    algos.backward_filter_workspace, &zero, d.w.get(), dw.data()),
                CUDNN_STATUS_SUCCESS);
      expect_near("y", y, y_ref);
      expect_near("dx", dx, dx_ref);
      expect_near("dw", dw, dw_ref);
    }
  }
}

TEST_F(ConvAlgoTest, CachesByShapeAndReportsBadGeometry) {
  cuda::ConvGeometry g = geometry();
  const size_t ws_bytes = size_t{16} << 20;
  const size_t big = size_t{4} << 20;  // enough for both shapes' tensors
  cuda::DeviceBuffer x = poisoned(big), w = poisoned(big), y = poisoned(big), dx = poisoned(big),
                     dw = poisoned(big), ws = poisoned(ws_bytes);
  cuda::fill(static_cast<int64_t>(big / 4), 0.5f, x.as<float>(), stream());
  cuda::fill(static_cast<int64_t>(big / 4), 0.25f, w.as<float>(), stream());
  stream_.synchronize();
  cuda::ConvScratch scratch{x.data(),  w.data(),  y.data(), dx.data(),
                            dw.data(), ws.data(), ws_bytes};
  cuda::ConvAlgoCache cache(ws_bytes, /*deterministic=*/true);
  cuda::ConvAlgos first, again;
  std::string error;
  ASSERT_TRUE(cache.choose(handle_.get(), g, scratch, &first, &error)) << error;
  ASSERT_TRUE(cache.choose(handle_.get(), g, scratch, &again, &error)) << error;
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(first.forward, again.forward);
  EXPECT_EQ(first.backward_filter, again.backward_filter);
  g.stride_h = 1;
  ASSERT_TRUE(cache.choose(handle_.get(), g, scratch, &again, &error)) << error;
  EXPECT_EQ(cache.size(), 2u);

  g.groups = 3;  // does not divide C = 4
  EXPECT_FALSE(cache.choose(handle_.get(), g, scratch, &again, &error));
  EXPECT_NE(error.find("groups 3"), std::string::npos) << error;
  EXPECT_EQ(cache.size(), 2u);
}

}  // namespace
}  // namespace banyan::cuda_testing
