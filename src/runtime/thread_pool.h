// A small fixed thread pool. The calling thread takes part; Run() blocks until every task is
// done. No allocation per Run.
//
// Each job's tasks are split into one contiguous range per thread (pthreadpool's scheme): a
// thread takes tasks from the front of its own range, then steals from the back of the others'.
// Each range is one word (job generation, first, end) in its own cache line, claimed with a
// compare-and-swap, so threads working on their own ranges never touch a shared line; each
// thread adds its count of finished tasks to the job's counter once. Run() waits for the tasks
// to be *completed*, not for the workers to check in: a worker that the OS has not scheduled
// yet (a loaded machine) never delays a job, the others steal its range. A late worker that
// wakes up during a later job can only claim that job's tasks (the generation is part of every
// claim). Job descriptions alternate between two slots, so the slot a late worker may still be
// reading is never the one being rewritten. Workers spin briefly between jobs (inference issues
// many short jobs back to back), then sleep.
#ifndef EDGEOPT_SRC_RUNTIME_THREAD_POOL_H_
#define EDGEOPT_SRC_RUNTIME_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace edgeopt {
namespace rt {

class ThreadPool {
 public:
  // num_threads counts the caller: 1 means no worker threads. With pin_workers (Linux), worker
  // i runs only on CPU i modulo the CPU count; the caller is expected on CPU 0 (the CLI pins it).
  // Measured on a loaded 2-vCPU VM: unpinned, the scheduler kept waking the worker on the
  // caller's CPU, where it could never run concurrently (it took ~20 % of the tasks and two
  // threads were no faster than one); pinned, 1.5x.
  explicit ThreadPool(int num_threads, bool pin_workers = false);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }
  // Workers that have started running; the constructor returns only when all have.
  int started_workers() const { return started_.load(std::memory_order_acquire); }

  using TaskFn = void (*)(void* context, int task, int thread);
  // Runs fn(context, task, thread) for every task in [0, num_tasks); `thread` is in
  // [0, num_threads) and identifies the executing thread (for per-thread scratch). Not
  // reentrant: one Run at a time.
  void Run(int num_tasks, TaskFn fn, void* context);

  // Convenience: f(task, thread) for every task.
  template <typename F>
  void ParallelFor(int num_tasks, F&& f) {
    if (num_tasks <= 0) return;
    if (num_threads_ == 1 || num_tasks == 1) {
      for (int i = 0; i < num_tasks; ++i) f(i, 0);
      return;
    }
    Run(
        num_tasks, [](void* c, int task, int thread) { (*static_cast<F*>(c))(task, thread); }, &f);
  }

 private:
  struct Slot {
    std::atomic<TaskFn> fn{nullptr};
    std::atomic<void*> context{nullptr};
    std::atomic<int> num_tasks{0};
  };
  // A range word: generation (20 bits), first task, end (22 bits each).
  static constexpr int kTaskBits = 22;
  static constexpr uint64_t kTaskMask = (uint64_t{1} << kTaskBits) - 1;
  static constexpr uint64_t kGenerationMask = (uint64_t{1} << (64 - 2 * kTaskBits)) - 1;
  static uint64_t Pack(uint32_t generation, uint32_t first, uint32_t end) {
    return ((generation & kGenerationMask) << (2 * kTaskBits)) | (uint64_t{first} << kTaskBits) |
           end;
  }
  struct alignas(64) Range {
    std::atomic<uint64_t> word{0};
  };
  void WorkerLoop(int thread_index, int caller_cpu);
  // Claims and runs tasks of job `generation` (own range first, then the others'), until none
  // is left, then adds their count to completed_.
  void DoTasks(int thread_index, uint32_t generation);
  // Claims one task of job `generation` from range r (from the front or the back): its index,
  // or -1 when the range is empty or belongs to another job.
  int Claim(Range& r, uint32_t generation, bool front);

  const int num_threads_;
  const bool pin_workers_;
  std::vector<std::thread> workers_;
  Slot slots_[2];
  std::vector<Range> ranges_;                      // one per thread
  std::atomic<uint32_t> generation_published_{0};  // the current job; workers watch it
  alignas(64) std::atomic<int> completed_{0};      // tasks of the current job that have finished
  std::atomic<bool> stop_{false};
  uint32_t generation_ = 0;  // caller's copy
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
  std::atomic<int> started_{0};      // workers that have begun WorkerLoop
  std::atomic<int> caller_cpu_{-1};  // where Run last woke sleeping workers from
};

// Restricts the calling thread to `cpu` (modulo the CPU count; Linux only, best effort): what a
// caller of a pool with pin_workers does, once, on CPU 0.
void PinCallerToCpu(int cpu);

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_THREAD_POOL_H_
