#include "src/runtime/thread_pool.h"

namespace edgeopt {
namespace rt {
namespace {
// Spin this many iterations for new work before sleeping: inference issues many short jobs
// back to back, and a futex wake-up costs more than the job.
constexpr int kSpinIterations = 20000;
}  // namespace

ThreadPool::ThreadPool(int num_threads) : num_threads_(num_threads < 1 ? 1 : num_threads) {
  for (int i = 1; i < num_threads_; ++i) {
    workers_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    ++generation_;
    published_generation_.store(generation_, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::DoTasks(int thread_index) {
  for (;;) {
    const int task = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (task >= num_tasks_) break;
    fn_(context_, task, thread_index);
  }
}

void ThreadPool::Run(int num_tasks, TaskFn fn, void* context) {
  if (num_tasks <= 0) return;
  if (workers_.empty() || num_tasks == 1) {
    for (int i = 0; i < num_tasks; ++i) fn(context, i, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = fn;
    context_ = context;
    num_tasks_ = num_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    pending_workers_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    ++generation_;
    published_generation_.store(generation_, std::memory_order_release);
  }
  wake_.notify_all();
  DoTasks(0);
  // Wait for the workers to finish their current task (spin first, then sleep).
  for (int spin = 0; spin < kSpinIterations; ++spin) {
    if (pending_workers_.load(std::memory_order_acquire) == 0) return;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return pending_workers_.load(std::memory_order_acquire) == 0; });
}

void ThreadPool::WorkerLoop(int thread_index) {
  uint64_t seen = 0;
  for (;;) {
    // Spin briefly on the published generation, then block.
    bool have_work = false;
    for (int spin = 0; spin < kSpinIterations; ++spin) {
      if (published_generation_.load(std::memory_order_acquire) != seen) {
        have_work = true;
        break;
      }
    }
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!have_work) wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (stop_) return;
    }
    DoTasks(thread_index);
    if (pending_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

}  // namespace rt
}  // namespace edgeopt
