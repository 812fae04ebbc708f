#include "core/threadpool.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <utility>

#include <sched.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpu_relax() { _mm_pause(); }
#elif defined(__aarch64__)
static inline void cpu_relax() { asm volatile("yield"); }
#else
static inline void cpu_relax() {}
#endif

namespace orchard {

namespace {

// Spin budget before a worker sleeps: long enough to bridge the gap between two kernels of one
// decode step (microseconds), short enough not to burn a core between requests.
constexpr int kPauseSpins = 2000;   // pure pause loop: lowest wake latency
constexpr int kYieldSpins = 20000;  // then yield, so a descheduled peer or another process runs

// Waits until pred() holds: pause-spin, then yield-spin. Returns false if it gave up.
template <class Pred>
bool spin_until(Pred pred, int yield_spins) {
  for (int i = 0; i < kPauseSpins; ++i) {
    if (pred()) return true;
    cpu_relax();
  }
  for (int i = 0; i < yield_spins; ++i) {
    if (pred()) return true;
    std::this_thread::yield();
  }
  return pred();
}

}  // namespace

int default_thread_count() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  const bool have_mask = sched_getaffinity(0, sizeof(allowed), &allowed) == 0;
  // One entry per (package, core) pair among the CPUs we may run on.
  std::set<std::pair<std::string, std::string>> cores;
  int logical = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (have_mask && !CPU_ISSET(cpu, &allowed)) continue;
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::ifstream core_file(dir + "core_id"), package_file(dir + "physical_package_id");
    std::string core, package;
    if (!(core_file >> core)) {
      if (have_mask) ++logical;  // allowed but no topology info: count it as a core
      continue;
    }
    package_file >> package;
    cores.emplace(package, core);
  }
  int n = static_cast<int>(cores.size()) + logical;
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, n);
}

ThreadPool::ThreadPool(int n_threads) {
  n_threads_ = n_threads > 0 ? n_threads : default_thread_count();
  for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::run_chunk(int index) const {
  const int64_t begin = job_n_ * index / n_threads_, end = job_n_ * (index + 1) / n_threads_;
  if (begin < end) job_.call(job_.fn, begin, end, index);
}

void ThreadPool::run(Job job, int64_t n) {
  if (n <= 0) return;
  if (n_threads_ == 1 || n == 1) {
    job.call(job.fn, 0, n, 0);
    return;
  }
  job_ = job;
  job_n_ = n;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();  // no syscall unless a worker is actually asleep
  run_chunk(0);
  auto done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  // A worker descheduled by a competing process may take a whole time slice: keep yielding.
  while (!spin_until(done, kYieldSpins)) {
  }
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    auto published = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(published, kYieldSpins)) generation_.wait(seen, std::memory_order_acquire);
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_relaxed)) return;
    run_chunk(index);
    pending_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace orchard
