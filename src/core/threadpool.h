#pragma once
// A small fixed pool for data-parallel loops. parallel_for splits [0, n) into one contiguous
// chunk per thread and runs them at once (the calling thread takes chunk 0), so a kernel can
// partition rows of a matmul without any per-task allocation. Chunk i always runs on thread i:
// callers rely on that for per-thread scratch and per-thread CPU state (AMX tile config).
//
// Decode issues hundreds of small kernels per token, so the hot path avoids syscalls: a job is
// published by bumping an atomic generation counter, workers spin on it (pause, then yield so a
// core shared with another process is given back) before sleeping on a futex (atomic wait),
// and completion is an atomic countdown the caller spins on after doing its own chunk.
#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace orchard {

// Physical cores available to this process (hyperthread siblings counted once); at least 1.
// The default for every thread-count flag: a second hyperthread on the same core only competes
// for the memory bandwidth decode is bound by.
int default_thread_count();

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads = 0);  // 0 = default_thread_count()
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // fn(begin, end, thread_index) for each non-empty chunk of [0, n). fn is called by reference
  // (no copy, no allocation); it must outlive the call, which it does since we block until done.
  template <class Fn>
  void parallel_for(int64_t n, Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    run({&fn, [](void* f, int64_t b, int64_t e, int t) { (*static_cast<F*>(f))(b, e, t); }}, n);
  }

 private:
  struct Job {
    void* fn = nullptr;
    void (*call)(void*, int64_t, int64_t, int) = nullptr;
  };
  void run(Job job, int64_t n);
  void run_chunk(int index) const;
  void worker(int index);

  int n_threads_;
  std::vector<std::thread> threads_;
  Job job_;
  int64_t job_n_ = 0;
  // Written by the caller before the generation bump (release), read by workers after (acquire).
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace orchard
