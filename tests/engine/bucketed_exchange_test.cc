// Gradient buckets: cut at layer boundaries, in backward order, covering the
// parameter buffer exactly once; and the bucketed exchange sums like one
// all-reduce over the whole buffer.
#include "engine/bucketed_exchange.h"

#ifdef BANYAN_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/config/loader.h"
#include "engine/exchange/exchange.h"
#include "tests/common/gpu_skip.h"

namespace banyan {
namespace {

constexpr char kNet[] = R"(
name: "buckets"
layer { name: "data" type: "Input" top: "data" top: "label"
        input_param { shape { dim: 2 dim: 3 dim: 6 dim: 6 } shape { dim: 2 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 4 kernel_size: 3 weight_filler { type: "xavier" } } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "ip1" type: "InnerProduct" bottom: "conv1" top: "ip1"
        inner_product_param { num_output: 8 weight_filler { type: "xavier" } } }
layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2"
        inner_product_param { num_output: 3 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" top: "loss" }
)";

std::unique_ptr<Net> build(WorkerContext* ctx) {
  NetConfig config;
  EXPECT_TRUE(parse_net_config(kNet, "buckets.prototxt", &config).ok());
  std::unique_ptr<Net> net;
  Status s = Net::create(config, {}, ctx, &net);
  EXPECT_TRUE(s.ok()) << s.message();
  return net;
}

int layer_index(const Net& net, const std::string& name) {
  for (int i = 0; i < net.num_layers(); ++i) {
    if (net.layer(i).name() == name) return i;
  }
  return -1;
}

TEST(GradientBucketsTest, CutAtLayerBoundariesInBackwardOrder) {
  WorkerContext ctx(Device::cpu(), 1);
  std::unique_ptr<Net> net = build(&ctx);
  ASSERT_NE(net, nullptr);
  // One float: every layer with parameters is its own bucket.
  std::vector<GradientBucket> b = cut_gradient_buckets(*net, 4);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].first_layer, layer_index(*net, "ip2"));
  EXPECT_EQ(b[1].first_layer, layer_index(*net, "ip1"));
  EXPECT_EQ(b[2].first_layer, layer_index(*net, "conv1"));
  int64_t end = net->param_count();
  for (const GradientBucket& k : b) {  // contiguous, top down, covering everything
    EXPECT_EQ(k.offset + k.count, end);
    EXPECT_GT(k.count, 0);
    end = k.offset;
  }
  EXPECT_EQ(end, 0);
  EXPECT_EQ(b[0].offset, net->find_param("ip2/0")->offset);
  // Big buckets: everything in one, exchanged after the lowest layer.
  b = cut_gradient_buckets(*net, size_t{1} << 30);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].first_layer, layer_index(*net, "conv1"));
  EXPECT_EQ(b[0].offset, 0);
  EXPECT_EQ(b[0].count, net->param_count());
}

// Three ranks exchange in buckets while "backward" walks the layers; the
// result equals one tree all-reduce of the whole buffer, bit for bit.
TEST(BucketedExchangeTest, SumsLikeOneAllReduce) {
  constexpr int kRanks = 3;
  std::vector<std::unique_ptr<WorkerContext>> ctxs;
  std::vector<std::unique_ptr<Net>> nets;
  for (int r = 0; r < kRanks; ++r) {
    ctxs.push_back(std::make_unique<WorkerContext>(Device::cpu(), 1));
    nets.push_back(build(ctxs.back().get()));
    ASSERT_NE(nets.back(), nullptr);
  }
  const int64_t n = nets[0]->param_count();
  std::vector<std::vector<float>> grads(kRanks, std::vector<float>(n));
  for (int r = 0; r < kRanks; ++r) {
    for (int64_t j = 0; j < n; ++j) grads[r][j] = 0.1f * (r + 1) + 1e-3f * (j % 97) - 0.05f * r * r;
  }
  std::unique_ptr<AllReduce> whole, bucketed;
  const std::vector<Device> devices(kRanks, Device::cpu());
  ASSERT_TRUE(make_all_reduce(ExchangeBackend::kTree, devices, Topology(), &whole).ok());
  ASSERT_TRUE(make_all_reduce(ExchangeBackend::kTree, devices, Topology(), &bucketed).ok());
  std::vector<std::vector<float>> expected = grads;
  std::vector<std::thread> threads;
  for (int r = 0; r < kRanks; ++r) {
    threads.emplace_back([&, r] {
      ASSERT_TRUE(whole->all_reduce(r, expected[r].data(), n, nullptr).ok());
      std::copy(grads[r].begin(), grads[r].end(), nets[r]->param_diff());
      BucketedExchange ex(nets[r].get(), bucketed.get(), r, 64, ctxs[r].get());
      ex.start();
      for (int i = nets[r]->num_layers() - 1; i >= 0; --i) ex.layer_done(i);
      ASSERT_TRUE(ex.finish().ok());
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < kRanks; ++r) {
    for (int64_t j = 0; j < n; ++j) {
      ASSERT_EQ(nets[r]->param_diff()[j], expected[0][j]) << "rank " << r << " element " << j;
    }
  }
}

#ifdef BANYAN_WITH_CUDA
// Records the current CUDA device of the thread that calls all_reduce (the
// exchange thread) and sums nothing.
class DeviceRecordingAllReduce : public AllReduce {
 public:
  int size() const override { return 1; }
  Status all_reduce(int, float*, size_t, void*) override {
    int device = -1;
    cudaGetDevice(&device);
    devices.push_back(device);
    return Status::success();
  }
  void abort(const std::string&) override {}
  std::vector<int> devices;
};

// A worker on the last GPU: its exchange thread must run there, not on the
// device 0 that an unset thread's first CUDA call would pick.
TEST(BucketedExchangeTest, ExchangeThreadRunsOnTheWorkersDevice) {
  BANYAN_SKIP_WITHOUT_GPUS(2);
  const int last = testing::usable_gpu_count() - 1;
  WorkerContext ctx(Device::cuda(last), 1);
  ASSERT_TRUE(ctx.init_device().ok());
  std::unique_ptr<Net> net = build(&ctx);
  ASSERT_NE(net, nullptr);
  DeviceRecordingAllReduce recorder;
  {
    BucketedExchange ex(net.get(), &recorder, 0, 64, &ctx);
    ex.start();
    for (int i = net->num_layers() - 1; i >= 0; --i) ex.layer_done(i);
    ASSERT_TRUE(ex.finish().ok());
  }
  ASSERT_FALSE(recorder.devices.empty());
  for (int d : recorder.devices) EXPECT_EQ(d, last);
}
#endif

}  // namespace
}  // namespace banyan
