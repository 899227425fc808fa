#include "src/runtime/thread_pool.h"

#include <algorithm>
#include <chrono>

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

// A worker polls for a new job this long before sleeping: consecutive ops of an inference, and
// back-to-back inferences, find it awake on its own CPU. Not much longer: several interpreters
// in one process (calibration's float and quantized models, a teacher and a student) each have
// a pool, and a spinning worker of an idle one takes a core from the busy one. Time-based: a
// pause takes 10-140 cycles by CPU (the old 2000 pauses were 19 us here).
constexpr auto kSpinTime = std::chrono::microseconds(200);

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

// Moves the calling thread off CPU `avoid`, then allows it every CPU it had again: a new
// worker starts where the scheduler put it, often the creating thread's CPU (on the 2-vCPU VM,
// after another process had used both, the worker shared the caller's CPU for milliseconds and
// took no task, or took one and stalled the caller until the next time slice). A running
// thread is not moved back. Best effort; Linux only.
void LeaveCpu(int avoid) {
#if defined(__linux__) && defined(__GLIBC__)
  cpu_set_t all;
  if (avoid < 0 || pthread_getaffinity_np(pthread_self(), sizeof(all), &all) != 0) return;
  if (!CPU_ISSET(avoid, &all) || CPU_COUNT(&all) < 2) return;
  cpu_set_t others = all;
  CPU_CLR(avoid, &others);
  if (pthread_setaffinity_np(pthread_self(), sizeof(others), &others) == 0) {
    pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
  }
#else
  (void)avoid;
#endif
}

int CurrentCpu() {
#if defined(__linux__) && defined(__GLIBC__)
  return sched_getcpu();
#else
  return -1;
#endif
}

}  // namespace

void PinCallerToCpu(int cpu) { PinCurrentThread(cpu); }

ThreadPool::ThreadPool(int num_threads, bool pin_workers)
    : num_threads_(num_threads < 1 ? 1 : num_threads),
      pin_workers_(pin_workers),
      ranges_(static_cast<size_t>(num_threads_)) {
  const int caller_cpu = CurrentCpu();
  for (int i = 1; i < num_threads_; ++i) {
    workers_.emplace_back([this, i, caller_cpu] { WorkerLoop(i, caller_cpu); });
  }
  // Returns once every worker runs (as pthreadpool_create): a new thread can take milliseconds
  // to be first scheduled on an idle CPU (measured 1-3 ms on the 2-vCPU VM), during which the
  // first invocations would run on the caller alone.
  while (started_.load(std::memory_order_acquire) < num_threads_ - 1) std::this_thread::yield();
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    // A new generation with empty ranges wakes every worker without giving it work.
    ++generation_;
    for (Range& r : ranges_) r.word.store(Pack(generation_, 0, 0));
    generation_published_.store(generation_);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

int ThreadPool::Claim(Range& r, uint32_t generation, bool front) {
  uint64_t w = r.word.load(std::memory_order_acquire);
  for (;;) {
    if (((w >> (2 * kTaskBits)) & kGenerationMask) != (generation & kGenerationMask)) return -1;
    const uint32_t first = static_cast<uint32_t>((w >> kTaskBits) & kTaskMask);
    const uint32_t end = static_cast<uint32_t>(w & kTaskMask);
    if (first >= end) return -1;
    const uint64_t next =
        front ? Pack(generation, first + 1, end) : Pack(generation, first, end - 1);
    // On failure w holds the current word: retry with it.
    if (r.word.compare_exchange_weak(w, next, std::memory_order_acq_rel)) {
      return static_cast<int>(front ? first : end - 1);
    }
  }
}

void ThreadPool::DoTasks(int thread_index, uint32_t generation) {
  // The job's slot: valid while any of its tasks is unclaimed (it is rewritten two jobs later,
  // after this job completed), and a claim below succeeds only for a task of this job.
  const Slot& slot = slots_[generation & 1];
  const TaskFn fn = slot.fn.load(std::memory_order_acquire);
  void* const context = slot.context.load(std::memory_order_acquire);
  int done = 0;
  for (int task; (task = Claim(ranges_[thread_index], generation, true)) >= 0; ++done) {
    fn(context, task, thread_index);
  }
  for (int k = 1; k < num_threads_; ++k) {
    Range& victim = ranges_[(thread_index + k) % num_threads_];
    for (int task; (task = Claim(victim, generation, false)) >= 0; ++done) {
      fn(context, task, thread_index);
    }
  }
  if (done > 0) completed_.fetch_add(done, std::memory_order_acq_rel);
}

void ThreadPool::Run(int num_tasks, TaskFn fn, void* context) {
  if (num_tasks <= 0) return;
  if (workers_.empty() || num_tasks == 1) {
    for (int i = 0; i < num_tasks; ++i) fn(context, i, 0);
    return;
  }
  if (static_cast<uint64_t>(num_tasks) > kTaskMask) {
    // More tasks than a range word holds: jobs of at most kTaskMask tasks each.
    struct Chunk {
      TaskFn fn;
      void* context;
      int offset;
    };
    for (int offset = 0; offset < num_tasks; offset += static_cast<int>(kTaskMask)) {
      Chunk chunk{fn, context, offset};
      Run(
          static_cast<int>(std::min<int64_t>(kTaskMask, int64_t{num_tasks} - offset)),
          [](void* c, int task, int thread) {
            const Chunk* k = static_cast<const Chunk*>(c);
            k->fn(k->context, k->offset + task, thread);
          },
          &chunk);
    }
    return;
  }
  const uint32_t generation = ++generation_;
  Slot& slot = slots_[generation & 1];
  slot.fn.store(fn, std::memory_order_release);
  slot.context.store(context, std::memory_order_release);
  slot.num_tasks.store(num_tasks, std::memory_order_release);
  completed_.store(0);
  for (int t = 0; t < num_threads_; ++t) {
    const uint32_t first = static_cast<uint32_t>(int64_t{num_tasks} * t / num_threads_);
    const uint32_t end = static_cast<uint32_t>(int64_t{num_tasks} * (t + 1) / num_threads_);
    ranges_[t].word.store(Pack(generation, first, end));
  }
  generation_published_.store(generation);
  if (sleepers_.load() > 0) {
    caller_cpu_.store(CurrentCpu(), std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  DoTasks(0, generation);
  // Every task is claimed; wait for the ones other threads are still running.
  while (completed_.load(std::memory_order_acquire) < num_tasks) CpuRelax();
}

void ThreadPool::WorkerLoop(int thread_index, int caller_cpu) {
  if (pin_workers_) {
    PinCurrentThread(thread_index);
  } else {
    LeaveCpu(caller_cpu);
  }
  started_.fetch_add(1, std::memory_order_release);
  uint32_t seen = 0;
  for (;;) {
    bool have_work = false;
    const auto spin_start = std::chrono::steady_clock::now();
    for (int spin = 0;; ++spin) {
      if (generation_published_.load(std::memory_order_acquire) != seen) {
        have_work = true;
        break;
      }
      CpuRelax();
      if ((spin & 63) == 63 && std::chrono::steady_clock::now() - spin_start > kSpinTime) break;
    }
    if (!have_work) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return generation_published_.load() != seen || stop_.load(); });
      sleepers_.fetch_sub(1);
      // The scheduler often wakes a thread on its waker's CPU: move off it.
      const int waker = caller_cpu_.load(std::memory_order_relaxed);
      if (!pin_workers_ && waker >= 0 && CurrentCpu() == waker) LeaveCpu(waker);
    }
    // stop_ is read after the generation: the destructor sets it before publishing its own
    // generation, so a worker that takes that generation as `seen` also sees stop_. (Checked
    // before reading `seen`, a stop published in between was taken for a job with no tasks,
    // and the worker slept forever on that generation while the destructor joined it.)
    seen = generation_published_.load();
    if (stop_.load()) return;
    DoTasks(thread_index, seen);
  }
}

}  // namespace rt
}  // namespace edgeopt
