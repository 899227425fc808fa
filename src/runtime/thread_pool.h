// A small fixed thread pool. The calling thread takes part; Run() blocks until every task is
// done. No allocation per Run (tasks are indices handed out by an atomic counter).
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
  // num_threads counts the caller: 1 means no worker threads.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  using TaskFn = void (*)(void* context, int task, int thread);
  // Runs fn(context, task, thread) for every task in [0, num_tasks); `thread` is in
  // [0, num_threads) and identifies the executing thread (for per-thread scratch).
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
        num_tasks,
        [](void* c, int task, int thread) { (*static_cast<F*>(c))(task, thread); },
        &f);
  }

 private:
  void WorkerLoop(int thread_index);
  void DoTasks(int thread_index);

  const int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  uint64_t generation_ = 0;
  bool stop_ = false;
  // The current job.
  TaskFn fn_ = nullptr;
  void* context_ = nullptr;
  int num_tasks_ = 0;
  std::atomic<int> next_task_{0};
  std::atomic<int> pending_workers_{0};
  std::atomic<uint64_t> published_generation_{0};
};

}  // namespace rt
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_RUNTIME_THREAD_POOL_H_
