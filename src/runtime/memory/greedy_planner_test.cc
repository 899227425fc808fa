#include "src/runtime/memory/greedy_planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace edgeopt {
namespace rt {
namespace {

// No two buffers alive at the same time may overlap in memory.
void ExpectNoOverlap(const std::vector<BufferRequest>& r, const MemoryPlan& plan) {
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_LE(plan.offsets[i] + r[i].bytes, plan.arena_bytes);
    for (size_t j = i + 1; j < r.size(); ++j) {
      const bool time = r[i].first_use <= r[j].last_use && r[j].first_use <= r[i].last_use;
      const bool space = plan.offsets[i] < plan.offsets[j] + r[j].bytes &&
                         plan.offsets[j] < plan.offsets[i] + r[i].bytes;
      EXPECT_FALSE(time && space) << "buffers " << i << " and " << j;
    }
  }
}

TEST(GreedyPlanner, ChainReusesMemory) {
  // a -> b -> c -> d: a and c can share, b and d can share.
  std::vector<BufferRequest> r = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 4}};
  MemoryPlan plan = PlanGreedy(r, 64);
  ExpectNoOverlap(r, plan);
  EXPECT_EQ(plan.arena_bytes, 2048u);
  EXPECT_EQ(PlanLinear(r, 64).arena_bytes, 4096u);
}

TEST(GreedyPlanner, AlignsOffsets) {
  std::vector<BufferRequest> r = {{10, 0, 0}, {10, 0, 0}, {10, 0, 0}};
  MemoryPlan plan = PlanGreedy(r, 64);
  for (size_t off : plan.offsets) EXPECT_EQ(off % 64, 0u);
  EXPECT_EQ(plan.arena_bytes, 192u);
}

TEST(GreedyPlanner, RandomLifetimesNeverOverlapAndBeatLinear) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<BufferRequest> r;
    const int n = 1 + rng() % 40;
    for (int i = 0; i < n; ++i) {
      BufferRequest b;
      b.bytes = 1 + rng() % 5000;
      b.first_use = rng() % 30;
      b.last_use = b.first_use + rng() % 5;
      r.push_back(b);
    }
    MemoryPlan plan = PlanGreedy(r, 16);
    ExpectNoOverlap(r, plan);
    EXPECT_LE(plan.arena_bytes, PlanLinear(r, 16).arena_bytes);
  }
}

// The planner as it was with std::stable_sort (its order is the contract: plans, and so arena
// sizes, must not change with how the order is computed).
std::vector<size_t> StableSortPlanOffsets(const std::vector<BufferRequest>& r, size_t alignment) {
  const auto align = [&](size_t x) { return (x + alignment - 1) & ~(alignment - 1); };
  std::vector<int> order(r.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (r[a].bytes != r[b].bytes) return r[a].bytes > r[b].bytes;
    return r[a].first_use < r[b].first_use;
  });
  std::vector<size_t> offsets(r.size());
  std::vector<int> placed;  // by offset
  for (int index : order) {
    const size_t size = align(std::max<size_t>(r[index].bytes, 1));
    size_t candidate = 0;
    for (int p : placed) {
      if (!(r[index].first_use <= r[p].last_use && r[p].first_use <= r[index].last_use)) continue;
      if (candidate + size <= offsets[p]) break;
      candidate = std::max(candidate, align(offsets[p] + r[p].bytes));
    }
    offsets[index] = candidate;
    auto pos = std::upper_bound(placed.begin(), placed.end(), candidate,
                                [&](size_t off, int p) { return off < offsets[p]; });
    placed.insert(pos, index);
  }
  return offsets;
}

TEST(GreedyPlanner, OrderAsStableSortWithTies) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<BufferRequest> r;
    const int n = 1 + rng() % 60;
    for (int i = 0; i < n; ++i) {
      BufferRequest b;
      b.bytes = 64 * (rng() % 4);  // many equal sizes (and zero-byte buffers)
      b.first_use = rng() % 6;     // and equal first uses
      b.last_use = b.first_use + rng() % 4;
      r.push_back(b);
    }
    EXPECT_EQ(PlanGreedy(r, 64).offsets, StableSortPlanOffsets(r, 64)) << "trial " << trial;
  }
}

}  // namespace
}  // namespace rt
}  // namespace edgeopt
