// Decode attention (one query token) per KV cache type at long contexts, on the head shapes of
// Qwen3-0.6B (16 heads over 8 KV heads of 128), TinyLlama (32 over 4 of 64) and an MQA model
// (8 over 1 of 128). Each iteration reads a different layer's cache, cycling through enough
// copies to defeat the caches as a real model's layers do; reported as GB/s of K and V read.
// Threads: ORCHARD_BENCH_THREADS (default: all cores).
//   bench_attention --benchmark_filter='qwen3/f16/.*'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "quant/quant.h"

namespace orchard {
namespace {

constexpr size_t kBytesTouched = size_t{512} << 20;  // caches cycled through, > L3

int bench_threads() {
  if (const char* env = std::getenv("ORCHARD_BENCH_THREADS")) return std::max(1, std::atoi(env));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

struct Shape {
  const char* name;
  int64_t n_heads, n_kv, head_dim;
};

void decode_attention(benchmark::State& state, Shape shape, DType type) {
  const int64_t n_ctx = state.range(0);
  const int64_t row = shape.n_kv * shape.head_dim;
  const size_t bytes = n_ctx * row_bytes(type, row);  // one of K, V for one layer
  const size_t copies = std::clamp<size_t>(kBytesTouched / (2 * bytes), 1, 64);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(n_ctx * row));
  for (auto& v : values) v = normal(rng);
  std::vector<std::vector<uint8_t>> caches(2 * copies, std::vector<uint8_t>(bytes));
  for (auto& c : caches) quantize_row(type, values.data(), c.data(), n_ctx * row);
  std::vector<float> q(shape.n_heads * shape.head_dim), out(q.size());
  for (auto& v : q) v = normal(rng);

  auto backend = cpu::make_cpu_backend(bench_threads(), cpu::selected_isa());
  const int32_t pos = static_cast<int32_t>(n_ctx - 1);
  size_t layer = 0;
  for (auto _ : state) {
    const void* k = caches[2 * layer].data();
    const void* v = caches[2 * layer + 1].data();
    // KvCache's head-major layout: each head's positions contiguous.
    const size_t head_bytes = row_bytes(type, shape.head_dim);
    backend->attention(q.data(), nullptr, nullptr, AttentionBatch{1, &pos, &k, &v, type, head_bytes, n_ctx * head_bytes}, shape.n_heads,
                       shape.n_kv, shape.head_dim, 1.0f / 8, out.data());
    benchmark::DoNotOptimize(out.data());
    layer = (layer + 1) % copies;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 2 * bytes));
}

const bool registered = [] {
  for (Shape shape : {Shape{"qwen3", 16, 8, 128}, Shape{"tinyllama", 32, 4, 64}, Shape{"mqa", 8, 1, 128}})
    for (DType type : {DType::F32, DType::F16, DType::Q8_0})
      benchmark::RegisterBenchmark((std::string(shape.name) + "/" + std::string(dtype_name(type))).c_str(),
                                   decode_attention, shape, type)
          ->Arg(512)
          ->Arg(2048)
          ->Arg(8192)
          ->Unit(benchmark::kMicrosecond);
  return true;
}();

}  // namespace
}  // namespace orchard

BENCHMARK_MAIN();
