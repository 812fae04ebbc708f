#include "core/read_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/threadpool.h"

namespace orchard {
namespace {

// Eight independent integer accumulators: the adds have no ordering constraint (unlike float
// sums), so g++ -O3 turns the loop into full-width vector loads at whatever ISA this file is
// built for; one core's load ports outrun its share of DRAM bandwidth many times over, so the
// loop is bound by memory, not by the instruction set.
uint64_t sum_words(const uint64_t* p, size_t n) {
  uint64_t acc[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
  for (; i < n; ++i) acc[0] += p[i];
  uint64_t s = 0;
  for (uint64_t a : acc) s += a;
  return s;
}

}  // namespace

double measure_read_bandwidth(int threads, const ReadBandwidthOptions& options) {
  ThreadPool pool(threads);
  const size_t n_words = options.buffer_bytes / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> buffer(new uint64_t[n_words]);
  // Cache-line-aligned chunks per thread; each thread first-touches the pages it later reads
  // (so they are local on NUMA machines) with non-zero values (so no page stays the shared
  // zero page, which would be read from cache).
  constexpr int64_t kWordsPerLine = 8;
  const int64_t n_lines = static_cast<int64_t>(n_words / kWordsPerLine);
  pool.parallel_for(n_lines, [&](int64_t begin, int64_t end, int) {
    for (size_t i = begin * kWordsPerLine; i < static_cast<size_t>(end * kWordsPerLine); ++i) buffer[i] = i;
  });

  std::vector<uint64_t> sinks(pool.size());  // keeps the sums (and so the loads) alive
  double best = 0;
  for (int pass = 0; pass < options.passes; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    pool.parallel_for(n_lines, [&](int64_t begin, int64_t end, int t) {
      sinks[t] += sum_words(buffer.get() + begin * kWordsPerLine, static_cast<size_t>(end - begin) * kWordsPerLine);
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(n_lines * kWordsPerLine * sizeof(uint64_t)) / seconds);
  }
  volatile uint64_t keep = 0;
  for (uint64_t s : sinks) keep = keep + s;
  return best;
}

double cached_read_bandwidth(int threads) {
  static std::mutex mutex;
  static std::map<int, double> measured;
  std::lock_guard lock(mutex);
  auto [it, fresh] = measured.try_emplace(threads, 0.0);
  if (fresh) it->second = measure_read_bandwidth(threads);
  return it->second;
}

}  // namespace orchard
