#include "src/runtime/thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__linux__) && defined(__GLIBC__)
#include <pthread.h>
#include <sched.h>
#endif

namespace edgeopt {
namespace rt {
namespace {

// Polls for a new job this many times (with a pause in between, ~50-100 us in all) before
// sleeping: consecutive ops of an inference find the workers awake.
constexpr int kSpinIterations = 2000;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

// Restricts the calling thread to one CPU (best effort: failures leave it unpinned).
void PinCurrentThread(int cpu) {
#if defined(__linux__) && defined(__GLIBC__)
  const int n = static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0 || cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % n, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
#else
  (void)cpu;
#endif
}

}  // namespace

void PinCallerToCpu(int cpu) { PinCurrentThread(cpu); }

ThreadPool::ThreadPool(int num_threads, bool pin_workers)
    : num_threads_(num_threads < 1 ? 1 : num_threads), pin_workers_(pin_workers) {
  for (int i = 1; i < num_threads_; ++i) {
    workers_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    // A new generation with no tasks wakes every worker without giving it work.
    ++generation_;
    slots_[generation_ & 1].num_tasks.store(0);
    state_.store(Pack(generation_, 0));
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::DoTasks(int thread_index) {
  for (;;) {
    uint64_t s = state_.load();
    const uint32_t generation = static_cast<uint32_t>(s >> 32);
    const Slot& slot = slots_[generation & 1];
    const TaskFn fn = slot.fn.load();
    void* const context = slot.context.load();
    const int num_tasks = slot.num_tasks.load();
    const uint32_t task = static_cast<uint32_t>(s);
    if (task >= static_cast<uint32_t>(num_tasks)) return;
    // The claim succeeds only if the job is still the one whose slot was read above (the
    // caller rewrites a slot only two generations later, after that job completed).
    if (!state_.compare_exchange_weak(s, s + 1)) continue;
    fn(context, static_cast<int>(task), thread_index);
    completed_.fetch_add(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::Run(int num_tasks, TaskFn fn, void* context) {
  if (num_tasks <= 0) return;
  if (workers_.empty() || num_tasks == 1) {
    for (int i = 0; i < num_tasks; ++i) fn(context, i, 0);
    return;
  }
  const uint32_t generation = ++generation_;
  Slot& slot = slots_[generation & 1];
  slot.fn.store(fn);
  slot.context.store(context);
  slot.num_tasks.store(num_tasks);
  completed_.store(0);
  state_.store(Pack(generation, 0));
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  DoTasks(0);
  // Every task is claimed; wait for the ones other threads are still running.
  while (completed_.load(std::memory_order_acquire) < num_tasks) CpuRelax();
}

void ThreadPool::WorkerLoop(int thread_index) {
  if (pin_workers_) PinCurrentThread(thread_index);
  uint32_t seen = 0;
  for (;;) {
    bool have_work = false;
    for (int spin = 0; spin < kSpinIterations; ++spin) {
      if (static_cast<uint32_t>(state_.load(std::memory_order_acquire) >> 32) != seen) {
        have_work = true;
        break;
      }
      CpuRelax();
    }
    if (!have_work) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return static_cast<uint32_t>(state_.load() >> 32) != seen; });
      sleepers_.fetch_sub(1);
    }
    if (stop_.load()) return;
    seen = static_cast<uint32_t>(state_.load() >> 32);
    DoTasks(thread_index);
  }
}

}  // namespace rt
}  // namespace edgeopt
