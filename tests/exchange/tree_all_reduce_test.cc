// TreeAllReduce on CPU threads: sums against a double-precision reference,
// bitwise agreement across ranks and reruns (and with the tree's summation
// order replayed serially), sizes around the chunk, and abort releasing
// waiters.  A watchdog turns a hang into a failure.
#include "engine/exchange/tree_all_reduce.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "engine/exchange/exchange.h"
#include "engine/exchange/topology.h"
#include "engine/exchange/tree.h"

namespace banyan {
namespace {

constexpr size_t kChunkFloats = 64;

// Runs fn(rank) on n threads; fails (aborting the exchange, then the process)
// instead of hanging when they do not all finish within `timeout`.
void run_ranks(int n, AllReduce* exchange, const std::function<void(int)>& fn,
               std::chrono::seconds timeout = std::chrono::seconds(60)) {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      fn(r);
      std::lock_guard<std::mutex> lock(mu);
      ++done;
      cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, timeout, [&] { return done == n; })) {
      ADD_FAILURE() << "all-reduce threads hung; aborting the exchange";
      exchange->abort("test watchdog");
      if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return done == n; })) {
        std::fprintf(stderr, "threads still hung after abort\n");
        std::abort();
      }
    }
  }
  for (std::thread& t : threads) t.join();
}

// Inputs of mixed sign and magnitude, so the summation order shows in the bits.
std::vector<std::vector<float>> make_inputs(int n, size_t count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::uniform_int_distribution<int> exponent(-8, 8);
  std::vector<std::vector<float>> inputs(n, std::vector<float>(count));
  for (auto& v : inputs) {
    for (float& x : v) x = std::ldexp(value(gen), exponent(gen));
  }
  return inputs;
}

// The tree's order replayed on one thread: rank r's sum is its own data plus
// its children's sums in child order.
std::vector<float> tree_order_sum(const ExchangeTree& tree,
                                  const std::vector<std::vector<float>>& in, int rank) {
  std::vector<float> sum = in[rank];
  for (int child : tree.children(rank)) {
    const std::vector<float> part = tree_order_sum(tree, in, child);
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += part[i];
  }
  return sum;
}

std::unique_ptr<AllReduce> make_cpu(int n, size_t chunk_bytes) {
  std::unique_ptr<AllReduce> out;
  ExchangeOptions options;
  options.chunk_bytes = chunk_bytes;
  const Status s = make_all_reduce(ExchangeBackend::kAuto, std::vector<Device>(n, Device::cpu()),
                                   Topology(), options, &out);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out;
}

void check_all_reduce(int n, size_t count, size_t chunk_floats) {
  SCOPED_TRACE("n=" + std::to_string(n) + " count=" + std::to_string(count));
  std::unique_ptr<AllReduce> exchange = make_cpu(n, chunk_floats * sizeof(float));
  ASSERT_EQ(exchange->size(), n);
  const auto inputs = make_inputs(n, count, 1000 + n * 31 + static_cast<uint32_t>(count));
  std::vector<std::vector<float>> first;
  for (int run = 0; run < 2; ++run) {
    std::vector<std::vector<float>> data = inputs;
    std::vector<Status> status(n);
    run_ranks(n, exchange.get(),
              [&](int r) { status[r] = exchange->all_reduce(r, data[r].data(), count, nullptr); });
    for (int r = 0; r < n; ++r) ASSERT_TRUE(status[r].ok()) << status[r].to_string();
    for (int r = 1; r < n; ++r) {
      ASSERT_TRUE(count == 0 ||
                  std::memcmp(data[r].data(), data[0].data(), count * sizeof(float)) == 0)
          << "rank " << r << " differs from rank 0";
    }
    if (run == 1) {
      ASSERT_TRUE(count == 0 ||
                  std::memcmp(data[0].data(), first[0].data(), count * sizeof(float)) == 0);
    }
    first = data;
  }
  for (size_t i = 0; i < count; ++i) {
    double sum = 0, magnitude = 0;
    for (int r = 0; r < n; ++r) sum += inputs[r][i], magnitude += std::fabs(inputs[r][i]);
    ASSERT_NEAR(first[0][i], sum, n * 1.2e-7 * magnitude) << "element " << i;
  }
  const auto* tree = dynamic_cast<TreeAllReduce*>(exchange.get());
  ASSERT_NE(tree, nullptr);
  if (count > 0) {
    const std::vector<float> expected = tree_order_sum(tree->tree(), inputs, 0);
    EXPECT_EQ(std::memcmp(expected.data(), first[0].data(), count * sizeof(float)), 0);
  }
}

TEST(TreeAllReduceTest, SumsForOneToEightRanksAroundTheChunkSize) {
  const size_t c = kChunkFloats;
  for (int n = 1; n <= 8; ++n) {
    for (size_t count : {size_t{0}, size_t{1}, size_t{7}, c - 1, c, c + 1, 3 * c + 5}) {
      check_all_reduce(n, count, c);
    }
  }
}

TEST(TreeAllReduceTest, DefaultChunkSizeAndOneFloatChunks) {
  const size_t c = TreeAllReduce::kDefaultChunkBytes / sizeof(float);
  check_all_reduce(3, 3 * c + 5, c);
  check_all_reduce(5, 37, 1);
}

TEST(TreeAllReduceTest, ManyCallsInARowWithChangingSizes) {
  const int n = 6;
  std::unique_ptr<AllReduce> exchange = make_cpu(n, kChunkFloats * sizeof(float));
  const size_t sizes[] = {100, 0, 1, 300, 64, 5};
  std::vector<int> failures(n, 0);
  run_ranks(n, exchange.get(), [&](int r) {
    for (int call = 0; call < 60; ++call) {
      const size_t count = sizes[call % 6];
      std::vector<float> data(count);
      for (size_t i = 0; i < count; ++i) data[i] = static_cast<float>(r + 1 + call + i);
      if (!exchange->all_reduce(r, data.data(), count, nullptr).ok()) ++failures[r];
      for (size_t i = 0; i < count; ++i) {
        // sum over r of (r + 1 + call + i), exact in float at these sizes
        const float expected = n * (n + 1) / 2.0f + n * static_cast<float>(call + i);
        if (data[i] != expected) ++failures[r];
      }
    }
  });
  for (int r = 0; r < n; ++r) EXPECT_EQ(failures[r], 0) << "rank " << r;
}

// A rank whose call of 0 floats returns at once (it waits for nobody) and
// has begun its next call, still waiting for its own children there, when
// its parent begins the empty call: the parent must not take the child's
// new count for the empty call's (it stopped with "rank m brought 3 floats,
// rank p 0").
TEST(TreeAllReduceTest, ChildAheadAfterAnEmptyCall) {
  const int n = 8;
  LinkMatrix links;
  ASSERT_TRUE(Topology().participant_links(std::vector<Device>(n, Device::cpu()), &links).ok());
  const ExchangeTree tree = ExchangeTree::build(links);
  int middle = -1;  // a rank with a parent and children
  for (int r = 0; r < n && middle < 0; ++r) {
    if (tree.parent(r) >= 0 && !tree.children(r).empty()) middle = r;
  }
  ASSERT_GE(middle, 0) << tree.to_string();
  const int parent = tree.parent(middle);
  TreeAllReduce exchange(tree, kChunkFloats * sizeof(float));
  std::vector<std::vector<float>> data(n, std::vector<float>(3));
  std::vector<Status> first(n), second(n);
  run_ranks(n, &exchange, [&](int r) {
    // The parent starts the empty call late; the middle rank's children
    // start the second call later still, so the middle rank waits in it.
    if (r == parent) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    first[r] = exchange.all_reduce(r, data[r].data(), 0, nullptr);
    if (tree.parent(r) == middle) std::this_thread::sleep_for(std::chrono::milliseconds(150));
    for (float& v : data[r]) v = static_cast<float>(r + 1);
    second[r] = exchange.all_reduce(r, data[r].data(), 3, nullptr);
  });
  for (int r = 0; r < n; ++r) {
    ASSERT_TRUE(first[r].ok()) << first[r].to_string();
    ASSERT_TRUE(second[r].ok()) << second[r].to_string();
    EXPECT_EQ(data[r], std::vector<float>(3, n * (n + 1) / 2.0f)) << "rank " << r;
  }
}

TEST(TreeAllReduceTest, AbortReleasesEveryWaiter) {
  for (int absent : {0, 2, 3}) {
    const int n = 4;
    std::unique_ptr<AllReduce> exchange = make_cpu(n, kChunkFloats * sizeof(float));
    std::vector<std::vector<float>> data(n, std::vector<float>(10 * kChunkFloats, 1.0f));
    std::vector<Status> status(n);
    run_ranks(n, exchange.get(), [&](int r) {
      if (r == absent) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        exchange->abort("rank " + std::to_string(r) + " failed");
        exchange->abort("a second reason");
        return;
      }
      status[r] = exchange->all_reduce(r, data[r].data(), data[r].size(), nullptr);
    });
    for (int r = 0; r < n; ++r) {
      if (r == absent) continue;
      EXPECT_EQ(status[r].code(), StatusCode::kAborted) << r << ": " << status[r].to_string();
      EXPECT_NE(status[r].message().find("rank " + std::to_string(absent) + " failed"),
                std::string::npos)
          << status[r].message();
    }
    const Status later = exchange->all_reduce(1, data[1].data(), data[1].size(), nullptr);
    EXPECT_EQ(later.code(), StatusCode::kAborted);
  }
}

}  // namespace
}  // namespace banyan
