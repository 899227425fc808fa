// Arena planning from tensor lifetimes (TFLM's GreedyMemoryPlanner): buffers sorted by size,
// largest first, each placed at the lowest offset that does not overlap a buffer alive at the
// same time. A linear planner (no reuse) is kept for debugging.
#ifndef EDGEOPT_SRC_RUNTIME_MEMORY_GREEDY_PLANNER_H_
#define EDGEOPT_SRC_RUNTIME_MEMORY_GREEDY_PLANNER_H_

#include <cstddef>
#include <vector>

namespace edgeopt {
namespace rt {

struct BufferRequest {
  size_t bytes = 0;
  int first_use = 0;  // node index of the first write
  int last_use = 0;   // node index of the last read (inclusive)
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // one per request
  size_t arena_bytes = 0;
};

// Offsets are multiples of `alignment` (a power of two).
MemoryPlan PlanGreedy(const std::vector<BufferRequest>& requests, size_t alignment);
MemoryPlan PlanLinear(const std::vector<BufferRequest>& requests, size_t alignment);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_MEMORY_GREEDY_PLANNER_H_
