#include "core/threadpool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace orchard {
namespace {

// Every index of [0, n) is visited exactly once, chunks are contiguous and ordered by thread.
void check_cover(ThreadPool& pool, int64_t n) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  std::mutex mutex;
  std::vector<std::pair<int64_t, int64_t>> chunk_of(static_cast<size_t>(pool.size()), {-1, -1});
  pool.parallel_for(n, [&](int64_t begin, int64_t end, int thread) {
    ASSERT_LT(begin, end);
    ASSERT_GE(thread, 0);
    ASSERT_LT(thread, pool.size());
    for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
    std::lock_guard lock(mutex);
    EXPECT_EQ(chunk_of[static_cast<size_t>(thread)].first, -1) << "thread " << thread << " ran twice";
    chunk_of[static_cast<size_t>(thread)] = {begin, end};
  });
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n=" << n << " i=" << i;
  int64_t last_end = 0;
  for (auto [begin, end] : chunk_of) {
    if (begin < 0) continue;
    EXPECT_EQ(begin, last_end);
    last_end = end;
  }
  if (n > 0) EXPECT_EQ(last_end, n);
}

TEST(ThreadPool, CoversEveryShape) {
  for (int threads : {1, 2, 3, 4, 7}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 3, 5, 7, 8, 31, 64, 1000, 4097}) check_cover(pool, n);
  }
}

TEST(ThreadPool, ReusedManyTimesBackToBack) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  for (int round = 0; round < 5000; ++round)
    pool.parallel_for(10, [&](int64_t begin, int64_t end, int) { sum.fetch_add(end - begin); });
  EXPECT_EQ(sum.load(), 5000 * 10);
}

TEST(ThreadPool, ChunkOfSizeNRunsOncePerThreadOnDistinctThreads) {
  ThreadPool pool(4);
  for (int round = 0; round < 50; ++round) {
    std::mutex mutex;
    std::set<std::thread::id> ids;
    std::set<int> indices;
    pool.parallel_for(pool.size(), [&](int64_t, int64_t, int thread) {
      std::lock_guard lock(mutex);
      ids.insert(std::this_thread::get_id());
      indices.insert(thread);
    });
    EXPECT_EQ(ids.size(), 4u);
    EXPECT_EQ(indices, (std::set<int>{0, 1, 2, 3}));
  }
}

TEST(ThreadPool, CallerRunsChunkZero) {
  ThreadPool pool(2);
  std::thread::id chunk0;
  pool.parallel_for(2, [&](int64_t, int64_t, int thread) {
    if (thread == 0) chunk0 = std::this_thread::get_id();
  });
  EXPECT_EQ(chunk0, std::this_thread::get_id());
}

TEST(ThreadPool, WorksAfterWorkersFellAsleepAndDestroysWhileIdle) {
  for (int i = 0; i < 3; ++i) {
    ThreadPool pool(3);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // past the spin budget
    check_cover(pool, 100);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ThreadPool never_used(4);  // destroyed without ever running a job
}

TEST(ThreadPool, DefaultIsPhysicalCoresAndAtLeastOne) {
  const int n = default_thread_count();
  EXPECT_GE(n, 1);
  EXPECT_LE(n, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_EQ(ThreadPool().size(), n);
}

}  // namespace
}  // namespace orchard
