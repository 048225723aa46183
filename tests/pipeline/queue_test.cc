// Tests of the bounded queue: FIFO order, blocking at capacity, close()
// waking blocked producers and consumers, reset().
#include "pipeline/queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace banyan {
namespace {

using namespace std::chrono_literals;

TEST(BoundedQueueTest, FifoWithinCapacity) {
  BoundedQueue<int> q(3);
  EXPECT_TRUE(q.push(5));
  EXPECT_TRUE(q.push(6));
  EXPECT_TRUE(q.push(7));
  EXPECT_EQ(q.size(), 3u);
  int v = 0;
  for (int want : {5, 6, 7}) {
    ASSERT_TRUE(q.pop(&v));
    EXPECT_EQ(v, want);
  }
  EXPECT_EQ(q.size(), 0u);
}

TEST(BoundedQueueTest, PushBlocksWhileFullUntilPop) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.push(1));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    q.push(2);
    pushed = true;
  });
  std::this_thread::sleep_for(30ms);
  EXPECT_FALSE(pushed.load());  // full: the producer waits
  int v = 0;
  ASSERT_TRUE(q.pop(&v));
  EXPECT_EQ(v, 1);
  producer.join();
  EXPECT_TRUE(pushed.load());
  ASSERT_TRUE(q.pop(&v));
  EXPECT_EQ(v, 2);
}

TEST(BoundedQueueTest, CloseWakesBlockedConsumersAndProducers) {
  BoundedQueue<int> empty(2), full(1);
  ASSERT_TRUE(full.push(0));
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      int v;
      if (!empty.pop(&v)) ++woken;
    });
  }
  threads.emplace_back([&] {
    if (!full.push(1)) ++woken;
  });
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(woken.load(), 0);
  empty.close();
  full.close();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(woken.load(), 4);
  EXPECT_FALSE(empty.push(3));  // closed for good until reset
  int v;
  EXPECT_FALSE(full.pop(&v));
}

TEST(BoundedQueueTest, ResetEmptiesAndReopens) {
  BoundedQueue<int> q(2);
  ASSERT_TRUE(q.push(1));
  q.close();
  EXPECT_TRUE(q.closed());
  q.reset();
  EXPECT_FALSE(q.closed());
  EXPECT_EQ(q.size(), 0u);
  ASSERT_TRUE(q.push(9));
  int v = 0;
  ASSERT_TRUE(q.pop(&v));
  EXPECT_EQ(v, 9);
}

}  // namespace
}  // namespace banyan
