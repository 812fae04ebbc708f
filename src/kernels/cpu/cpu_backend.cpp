#include "kernels/cpu/cpu_backend.h"

#include <string>

#include "core/error.h"
#include "core/threadpool.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops.h"
#include "quant/quant.h"

namespace orchard {
namespace cpu {
namespace {

class CpuBackend final : public Backend {
 public:
  CpuBackend(int n_threads, Isa isa) : kernels_(kernels_for(isa)), pool_(n_threads) {}

  std::string name() const override { return "cpu-" + std::string(isa_name(kernels_.isa)); }
  int n_threads() const override { return pool_.size(); }

  void matmul(const Tensor& w, const float* x, float* y, int64_t n) override {
    cpu::matmul(kernels_, pool_, matmul_scratch_, w, x, y, n);
  }

  void get_rows(const Tensor& table, const int32_t* ids, int64_t n, float* out) override {
    if (table.ndim() != 2) throw Error("get_rows: table must be 2-D, got " + shape_str(table.shape()));
    const int64_t rows = table.rows(), dim = table.cols();
    for (int64_t i = 0; i < n; ++i) {
      if (ids[i] < 0 || ids[i] >= rows)
        throw Error("get_rows: id " + std::to_string(ids[i]) + " is outside the table's " + std::to_string(rows) +
                    " rows");
      dequantize_row(table.dtype(), table.row(ids[i]), out + i * dim, dim);
    }
  }

  void rms_norm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps) override {
    cpu::rms_norm(pool_, x, weight, y, rows, dim, eps);
  }

  void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* positions,
            const RopeTable& table) override {
    cpu::rope(pool_, x, n_tokens, n_heads, head_dim, positions, table);
  }

  void attention(const float* q, const float*, const float*, const AttentionBatch& batch, int64_t n_heads,
                 int64_t n_kv_heads, int64_t head_dim, float scale, float* out) override {
    cpu::attention(kernels_, pool_, attention_scratch_, q, batch, n_heads, n_kv_heads, head_dim, scale, out);
  }

  void silu_mul(float* gate, const float* up, int64_t n) override {
    // Worth a pool dispatch only for prefill-sized batches.
    constexpr int64_t kParallelFrom = 1 << 15;
    if (n < kParallelFrom) return kernels_.silu_mul(gate, up, n);
    pool_.parallel_for(n, [&](int64_t begin, int64_t end, int) { kernels_.silu_mul(gate + begin, up + begin, end - begin); });
  }
  void add(float* y, const float* x, int64_t n) override { cpu::add(y, x, n); }

  void add_bias(float* y, const Tensor& bias, int64_t rows, int64_t cols) override {
    if (bias.numel() != cols) throw Error("add_bias: bias of shape " + shape_str(bias.shape()) + " for rows of " +
                                          std::to_string(cols));
    cpu::add_bias(y, bias.f32(), rows, cols);
  }

 private:
  const IsaKernels& kernels_;
  ThreadPool pool_;
  MatmulScratch matmul_scratch_;
  AttentionScratch attention_scratch_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int n_threads, Isa isa) {
  if (!isa_supported(isa)) throw Error("CPU backend: this CPU does not support " + std::string(isa_name(isa)));
  return std::make_unique<CpuBackend>(n_threads, isa);
}

}  // namespace cpu

std::unique_ptr<Backend> make_cpu_backend(int n_threads) { return cpu::make_cpu_backend(n_threads, cpu::selected_isa()); }

}  // namespace orchard
