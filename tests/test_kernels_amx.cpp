// The AMX batch matmul against the Generic ISA's reference vec_dot on the same q8_0
// activations: both see identical integers, so only f32 rounding of the scales differs.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/threadpool.h"
#include "kernels/cpu/kernels.h"
#include "quant/quant.h"

namespace orchard {
namespace {

using cpu::Isa;

struct Shape {
  int64_t rows, k, n;
};

void check_against_reference(DType t, const Shape& s, int threads, std::mt19937& rng) {
  const QuantTraits* traits = quant_traits(t);
  const DType act = traits->vec_dot_type;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(s.k));
  Tensor w = Tensor::zeros(t, {s.rows, s.k});
  for (int64_t r = 0; r < s.rows; ++r) {
    for (auto& v : row) v = normal(rng);
    quantize_row(t, row.data(), const_cast<uint8_t*>(w.row(r)), s.k);
  }
  const size_t x_stride = row_bytes(act, s.k);
  std::vector<uint8_t> x(x_stride * static_cast<size_t>(s.n));
  for (int64_t i = 0; i < s.n; ++i) {
    for (auto& v : row) v = normal(rng);
    quantize_row(act, row.data(), x.data() + i * x_stride, s.k);
  }
  std::vector<float> y(static_cast<size_t>(s.n * s.rows), NAN);
  ThreadPool pool(threads);
  ASSERT_TRUE(cpu::kernels_for(Isa::Amx).batch_matmul(pool, w, x.data(), x_stride, y.data(), s.n));
  std::vector<float> wf(static_cast<size_t>(s.k));
  for (int64_t r = 0; r < s.rows; ++r) {
    dequantize_row(t, w.row(r), wf.data(), s.k);
    double magnitude = 0;  // rows have k normal-ish terms: scale of f32 rounding differences
    for (float v : wf) magnitude += std::fabs(v);
    for (int64_t i = 0; i < s.n; ++i) {
      const float expect = traits->vec_dot(w.row(r), x.data() + i * x_stride, s.k);
      ASSERT_NEAR(y[i * s.rows + r], expect, 1e-5 * magnitude + 1e-6)
          << dtype_name(t) << " rows " << s.rows << " k " << s.k << " n " << s.n << " threads " << threads
          << " at token " << i << " row " << r;
    }
  }
}

TEST(KernelsAmx, BatchMatmulMatchesReference) {
  if (!cpu::isa_supported(Isa::Amx)) GTEST_SKIP() << "AMX-INT8 is not usable on this CPU/OS";
  std::mt19937 rng(7);
  const Shape shapes[] = {{16, 32, 16}, {37, 96, 21}, {160, 256, 33}, {5, 64, 50}, {129, 128, 7}};
  for (DType t : {DType::Q8_0, DType::Q4_0})
    for (const Shape& s : shapes)
      for (int threads : {1, 3}) check_against_reference(t, s, threads, rng);
}

TEST(KernelsAmx, DeclinesTypesWithoutAKernel) {
  if (!cpu::isa_supported(Isa::Amx)) GTEST_SKIP() << "AMX-INT8 is not usable on this CPU/OS";
  Tensor w = Tensor::zeros(DType::F32, {4, 32});
  std::vector<float> x(32), y(4);
  ThreadPool pool(1);
  EXPECT_FALSE(cpu::kernels_for(Isa::Amx).batch_matmul(pool, w, x.data(), 32 * sizeof(float), y.data(), 1));
}

}  // namespace
}  // namespace orchard
