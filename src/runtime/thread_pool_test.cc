// ThreadPool: every task runs exactly once per job, thread indices are in range, back-to-back
// jobs of every size (the late-worker and two-slot logic), and a pool with more threads than
// cores (workers that are often not scheduled), pinned workers.
#include "src/runtime/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace edgeopt {
namespace rt {
namespace {

void ExpectEachTaskOnce(ThreadPool* pool, int jobs) {
  std::vector<std::atomic<int>> hits(257);
  for (int job = 0; job < jobs; ++job) {
    const int n = job % 257;
    for (int i = 0; i < n; ++i) hits[i].store(0);
    std::atomic<int> bad_thread{0};
    pool->ParallelFor(n, [&](int task, int thread) {
      hits[task].fetch_add(1);
      if (thread < 0 || thread >= pool->num_threads()) bad_thread.fetch_add(1);
    });
    for (int i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "job " << job << " task " << i;
    ASSERT_EQ(bad_thread.load(), 0);
  }
}

TEST(ThreadPool, EveryTaskOnceSingleThread) {
  ThreadPool pool(1);
  ExpectEachTaskOnce(&pool, 300);
}

TEST(ThreadPool, EveryTaskOnceTwoThreads) {
  ThreadPool pool(2);
  ExpectEachTaskOnce(&pool, 20000);
}

TEST(ThreadPool, EveryTaskOnceOversubscribed) {
  ThreadPool pool(7);
  ExpectEachTaskOnce(&pool, 5000);
}

// Pinned workers (more of them than CPUs too): same guarantees.
TEST(ThreadPool, EveryTaskOncePinned) {
  ThreadPool two(2, /*pin_workers=*/true);
  ExpectEachTaskOnce(&two, 5000);
  ThreadPool five(5, /*pin_workers=*/true);
  ExpectEachTaskOnce(&five, 2000);
}

// A pool destroyed right after a job: the destructor's stop must reach a worker that is just
// taking up the next generation (it once took the stop for an empty job and slept forever while
// the destructor joined it). Timing-dependent: this runs the window many times.
TEST(ThreadPool, DestroyedRightAfterAJob) {
  std::atomic<int> runs{0};
  for (int i = 0; i < 300; ++i) {
    ThreadPool pool(2);
    pool.ParallelFor(2, [&](int, int) { runs.fetch_add(1); });
  }
  EXPECT_EQ(runs.load(), 600);
}

TEST(ThreadPool, PerThreadScratchIsExclusive) {
  // Two tasks never run on the same thread index at the same time.
  ThreadPool pool(3);
  std::atomic<int> busy[3] = {};
  std::atomic<int> overlaps{0};
  for (int job = 0; job < 2000; ++job) {
    pool.ParallelFor(16, [&](int, int thread) {
      if (busy[thread].fetch_add(1) != 0) overlaps.fetch_add(1);
      busy[thread].fetch_sub(1);
    });
  }
  EXPECT_EQ(overlaps.load(), 0);
}

TEST(ThreadPool, WorkersRunWhenConstructed) {
  for (int threads : {2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.started_workers(), threads - 1);
  }
  ThreadPool single(1);
  EXPECT_EQ(single.started_workers(), 0);
}

TEST(ThreadPool, DestroyWhileWorkersSleep) {
  for (int i = 0; i < 20; ++i) {
    ThreadPool pool(3);
    std::atomic<int> sum{0};
    pool.ParallelFor(10, [&](int task, int) { sum.fetch_add(task); });
    EXPECT_EQ(sum.load(), 45);
  }
}

}  // namespace
}  // namespace rt
}  // namespace edgeopt
