// Training's backward kernels (kernels/cpu/backward.h) per ISA on TinyLlama's shapes: matmul dx
// against f32 and frozen quantized weights and f32 dw on a projection, and the causal GQA
// attention forward (keeping the logsumexp) and backward over one sequence, as GFLOP/s (the
// attention counts its four T x T x head_dim products of the backward, two of the forward).
// Threads: ORCHARD_BENCH_THREADS (default: all cores).
//   bench_backward --benchmark_filter='matmul_dx/q8_0/avx512/.*'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/threadpool.h"
#include "kernels/cpu/backward.h"
#include "kernels/cpu/isa.h"
#include "quant/quant.h"

namespace orchard {
namespace {

int bench_threads() {
  if (const char* env = std::getenv("ORCHARD_BENCH_THREADS")) return std::max(1, std::atoi(env));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::vector<float> random_floats(size_t n, float scale) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

void set_gflops(benchmark::State& state, double flops_per_call) {
  state.counters["GFLOP/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * flops_per_call / 1e9,
                                                 benchmark::Counter::kIsRate);
}

constexpr int64_t kOut = 2048, kIn = 2048;  // an attention projection of TinyLlama

void run_dx(benchmark::State& state, DType t, cpu::Isa isa, int64_t n) {
  const std::vector<float> values = random_floats(kOut * kIn, 0.02f);
  Tensor w = Tensor::zeros(t, {kOut, kIn});
  quantize_row(t, values.data(), w.data(), kOut * kIn);
  const std::vector<float> dy = random_floats(n * kOut, 1.0f);
  std::vector<float> dx(static_cast<size_t>(n * kIn));
  ThreadPool pool(bench_threads());
  for (auto _ : state) {
    cpu::matmul_backward_x(cpu::kernels_for(isa), pool, w, dy.data(), dx.data(), n);
    benchmark::DoNotOptimize(dx.data());
  }
  set_gflops(state, 2.0 * kOut * kIn * n);
}

void run_dw(benchmark::State& state, cpu::Isa isa, int64_t n) {
  const std::vector<float> x = random_floats(n * kIn, 1.0f), dy = random_floats(n * kOut, 1.0f);
  std::vector<float> dw(static_cast<size_t>(kOut * kIn));
  ThreadPool pool(bench_threads());
  for (auto _ : state) {
    cpu::matmul_backward_w(cpu::kernels_for(isa), pool, x.data(), dy.data(), dw.data(), n, kIn, kOut);
    benchmark::DoNotOptimize(dw.data());
  }
  set_gflops(state, 2.0 * kOut * kIn * n);
}

constexpr int64_t kHeads = 32, kKvHeads = 4, kHeadDim = 64;  // TinyLlama

void run_attention(benchmark::State& state, cpu::Isa isa, int64_t T, bool backward) {
  const int64_t q_size = T * kHeads * kHeadDim, kv_size = T * kKvHeads * kHeadDim;
  const std::vector<float> q = random_floats(q_size, 1.0f), k = random_floats(kv_size, 1.0f),
                           v = random_floats(kv_size, 1.0f), dout = random_floats(q_size, 1.0f);
  std::vector<float> out(q_size), lse(T * kHeads), dq(q_size), dk(kv_size), dv(kv_size);
  const float scale = 0.125f;
  const cpu::IsaKernels& kernels = cpu::kernels_for(isa);
  ThreadPool pool(bench_threads());
  cpu::attention_forward(kernels, pool, q.data(), k.data(), v.data(), T, kHeads, kKvHeads, kHeadDim, scale, out.data(),
                         lse.data());
  for (auto _ : state) {
    if (backward)
      cpu::attention_backward(kernels, pool, q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), T,
                              kHeads, kKvHeads, kHeadDim, scale, dq.data(), dk.data(), dv.data());
    else
      cpu::attention_forward(kernels, pool, q.data(), k.data(), v.data(), T, kHeads, kKvHeads, kHeadDim, scale,
                             out.data(), lse.data());
    benchmark::DoNotOptimize(dq.data());
    benchmark::DoNotOptimize(out.data());
  }
  const double pairs = static_cast<double>(T) * static_cast<double>(T + 1) / 2;  // causal (query, key) pairs
  set_gflops(state, (backward ? 4.0 : 2.0) * 2.0 * pairs * kHeads * kHeadDim);
}

void register_all() {
  for (cpu::Isa isa : cpu::supported_isas()) {
    const std::string on = "/" + std::string(cpu::isa_name(isa));
    for (int64_t n : {64, 256}) {
      const std::string tokens = "/n:" + std::to_string(n);
      for (DType t : {DType::F32, DType::BF16, DType::Q8_0, DType::Q4_K})
        benchmark::RegisterBenchmark(("matmul_dx/" + std::string(dtype_name(t)) + on + tokens).c_str(), run_dx, t, isa,
                                     n)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      benchmark::RegisterBenchmark(("matmul_dw/f32" + on + tokens).c_str(), run_dw, isa, n)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
    for (int64_t T : {256, 1024})
      for (bool backward : {false, true})
        benchmark::RegisterBenchmark(
            ((backward ? "attention_backward" : "attention_forward") + on + "/T:" + std::to_string(T)).c_str(),
            run_attention, isa, T, backward)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
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
