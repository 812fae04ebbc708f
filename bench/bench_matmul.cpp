// Matmul throughput per weight dtype and ISA on TinyLlama's projection shapes, for decode
// (n = 1: memory bound, reported as GB/s of weights read) and prefill (n = 64..512: compute
// bound, reported as GFLOP/s). Decode cycles through enough weight copies to defeat the caches,
// as a real model's weights do. Threads: ORCHARD_BENCH_THREADS (default: all cores).
//   bench_matmul --benchmark_filter='q8_0/avx512/.*/n:1$'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "quant/quant.h"

namespace orchard {
namespace {

constexpr size_t kDecodeBytes = size_t{512} << 20;  // weights touched per decode pass, > L3

int bench_threads() {
  if (const char* env = std::getenv("ORCHARD_BENCH_THREADS")) return std::max(1, std::atoi(env));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// `copies` tensors of type t and shape {rows, k} holding the same random weights.
std::vector<Tensor> make_weights(DType t, int64_t rows, int64_t k, size_t copies) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> values(static_cast<size_t>(rows * k));
  for (auto& v : values) v = normal(rng);
  std::vector<Tensor> out;
  out.push_back(Tensor::zeros(t, {rows, k}));
  if (quant_traits(t)->from_float) {
    quantize_row(t, values.data(), out[0].data(), rows * k);
  } else {  // no encoder (iq4_nl): random quants under a small f16 scale at the start of each block
    auto* bytes = static_cast<uint8_t*>(out[0].data());
    for (size_t i = 0; i < out[0].nbytes(); ++i) bytes[i] = static_cast<uint8_t>(rng());
    const uint16_t scale = f32_to_f16(0.002f);
    for (size_t b = 0; b < out[0].nbytes(); b += dtype_info(t).type_size) std::memcpy(bytes + b, &scale, 2);
  }
  while (out.size() < copies) {
    out.push_back(Tensor::zeros(t, {rows, k}));
    std::memcpy(out.back().data(), out[0].data(), out[0].nbytes());
  }
  return out;
}

void run_matmul(benchmark::State& state, DType t, cpu::Isa isa, int64_t rows, int64_t k, int64_t n) {
  const size_t bytes = row_bytes(t, k) * static_cast<size_t>(rows);
  const size_t copies = n == 1 ? std::max<size_t>(1, kDecodeBytes / bytes) : 1;
  const std::vector<Tensor> weights = make_weights(t, rows, k, copies);
  auto backend = cpu::make_cpu_backend(bench_threads(), isa);
  std::vector<float> x(static_cast<size_t>(n * k), 0.5f), y(static_cast<size_t>(n * rows));
  size_t next = 0;
  for (auto _ : state) {
    backend->matmul(weights[next], x.data(), y.data(), n);
    next = (next + 1) % weights.size();
    benchmark::DoNotOptimize(y.data());
  }
  const double calls = static_cast<double>(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(calls * static_cast<double>(bytes) / 1e9, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(calls * 2.0 * static_cast<double>(rows * k * n) / 1e9, benchmark::Counter::kIsRate);
}

void register_all() {
  struct ShapeName {
    int64_t rows, k;
    const char* what;
  };
  const ShapeName shapes[] = {{2048, 2048, "attn_2048x2048"}, {5632, 2048, "ffn_up_5632x2048"},
                              {2048, 5632, "ffn_down_2048x5632"}};
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::IQ4_NL, DType::Q4_K,
                  DType::Q5_K, DType::Q6_K, DType::F16, DType::BF16, DType::F32}) {
    for (cpu::Isa isa : cpu::supported_isas())
      for (const ShapeName& s : shapes)
        for (int64_t n : {1, 64, 256, 512}) {
          const std::string name = std::string(dtype_name(t)) + "/" + std::string(cpu::isa_name(isa)) + "/" + s.what +
                                   "/n:" + std::to_string(n);
          benchmark::RegisterBenchmark(name.c_str(), run_matmul, t, isa, s.rows, s.k, n)
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
        }
  }
}

}  // namespace
}  // namespace orchard

int main(int argc, char** argv) {
  orchard::register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
