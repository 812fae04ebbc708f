// Matmul for every weight dtype and every ISA this CPU supports, against a reference built
// from the (separately verified) dequantizer and a double-precision dot product; each ISA's
// fast path is also compared tightly with the generic kernels on the same inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/error.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/kernels.h"
#include "quant/quant.h"

namespace orchard {
namespace {

using cpu::Isa;

// Random weights of type t: encoded from floats where orchard can encode t, otherwise random
// bytes whose f16 scale fields are set to small finite values.
Tensor random_weight(DType t, int64_t rows, int64_t k, std::mt19937& rng) {
  Tensor w = Tensor::zeros(t, {rows, k});
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const QuantTraits* traits = quant_traits(t);
  if (traits->from_float) {
    std::vector<float> row(static_cast<size_t>(k));
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& v : row) v = normal(rng);
      traits->from_float(row.data(), const_cast<uint8_t*>(w.row(r)), k);
    }
    // Files written by other tools may hold -128 in q8_0 blocks (our encoder never does): put
    // some in, as the integer kernels' sign tricks must handle them.
    if (t == DType::Q8_0)
      for (int64_t r = 0; r < rows; r += 2) static_cast<int8_t*>(w.data())[r * w.row_bytes() + 2 + r % 32] = -128;
    return w;
  }
  auto* bytes = static_cast<uint8_t*>(w.data());
  for (size_t i = 0; i < w.nbytes(); ++i) bytes[i] = static_cast<uint8_t>(rng());
  const std::vector<size_t> scales = t == DType::Q6_K ? std::vector<size_t>{208} : std::vector<size_t>{0, 2};
  const size_t block = dtype_info(t).type_size;
  std::uniform_real_distribution<float> scale(0.001f, 0.01f);
  for (size_t b = 0; b < w.nbytes(); b += block)
    for (size_t off : scales) {
      const uint16_t h = f32_to_f16(scale(rng));
      std::memcpy(bytes + b + off, &h, 2);
    }
  return w;
}

struct Reference {
  std::vector<float> y;
  std::vector<double> tolerance;  // per output: allowed |y - reference|
  std::vector<double> magnitude;  // per output: sum of |w x|, the scale of rounding differences
};

// y[t, r] = sum_i w[r, i] x[t, i] in double. The tolerance allows for f32 accumulation and,
// on the paths that quantize activations to q8_0 (as llama.cpp does), for that rounding:
// at most half a step (block absmax / 127 / 2) per element, plus the f16 rounding of its scale.
// The activation blocks are 32 (q8_0, q8_1) or 256 (q8_K) elements.
Reference reference_matmul(const Tensor& w, const std::vector<float>& x, int64_t n) {
  const int64_t rows = w.rows(), k = w.cols();
  const DType activation = quant_traits(w.dtype())->vec_dot_type;
  const bool q8_activations = activation != DType::F32;
  const size_t act_block = static_cast<size_t>(dtype_info(activation).block_size);
  std::vector<float> wf(static_cast<size_t>(k));
  std::vector<double> step(x.size());
  for (size_t b = 0; b < x.size(); b += act_block) {
    double amax = 0;
    for (size_t i = b; i < b + act_block; ++i) amax = std::max(amax, std::fabs(double{x[i]}));
    for (size_t i = b; i < b + act_block; ++i)
      step[i] = q8_activations ? amax / 254.0 + std::fabs(x[i]) / 1024.0 : 0.0;
  }
  const auto outputs = static_cast<size_t>(n * rows);
  Reference ref{std::vector<float>(outputs), std::vector<double>(outputs), std::vector<double>(outputs)};
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(w.dtype(), w.row(r), wf.data(), k);
    for (int64_t t = 0; t < n; ++t) {
      double sum = 0, magnitude = 0, quant_error = 0;
      for (int64_t i = 0; i < k; ++i) {
        const double wx = double{wf[i]} * x[t * k + i];
        sum += wx;
        magnitude += std::fabs(wx);
        quant_error += std::fabs(double{wf[i]}) * step[t * k + i];
      }
      ref.y[t * rows + r] = static_cast<float>(sum);
      ref.tolerance[t * rows + r] = 1e-5 * magnitude + quant_error + 1e-6;
      ref.magnitude[t * rows + r] = magnitude;
    }
  }
  return ref;
}

struct Shape3 {
  int64_t rows, k, n;
};

class Matmul : public ::testing::TestWithParam<DType> {};

TEST_P(Matmul, EveryIsaMatchesReference) {
  const DType t = GetParam();
  const int64_t kmul = dtype_info(t).block_size == 256 ? 256 : 32;
  std::mt19937 rng(static_cast<unsigned>(t) + 1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // Row counts off the 4-row tile, token counts 1..7 off the 4-token tile, and a prefill size.
  const std::vector<Shape3> shapes = {{1, kmul, 1},      {5, kmul * 3, 2},  {37, kmul * 2, 3}, {67, kmul, 4},
                                      {9, kmul * 4, 5},  {16, kmul, 6},     {23, kmul * 2, 7}, {70, kmul * 2, 33},
                                      // One token (the decode kernels): odd row counts, block counts off their groups.
                                      {37, kmul * 5, 1}, {13, kmul * 7, 1}, {6, kmul * 3, 1},  {3, kmul * 8, 1}};
  for (const Shape3& s : shapes) {
    const Tensor w = random_weight(t, s.rows, s.k, rng);
    std::vector<float> x(static_cast<size_t>(s.n * s.k));
    for (auto& v : x) v = normal(rng);
    const Reference ref = reference_matmul(w, x, s.n);

    std::vector<float> generic(static_cast<size_t>(s.n * s.rows));
    cpu::make_cpu_backend(1, Isa::Generic)->matmul(w, x.data(), generic.data(), s.n);
    for (Isa isa : cpu::supported_isas()) {
      for (int threads : {1, 3}) {
        auto backend = cpu::make_cpu_backend(threads, isa);
        std::vector<float> y(generic.size(), NAN);
        backend->matmul(w, x.data(), y.data(), s.n);
        for (size_t i = 0; i < y.size(); ++i) {
          const std::string where = std::string(cpu::isa_name(isa)) + " rows=" + std::to_string(s.rows) +
                                    " k=" + std::to_string(s.k) + " n=" + std::to_string(s.n) +
                                    " threads=" + std::to_string(threads) + " output " + std::to_string(i);
          ASSERT_NEAR(y[i], ref.y[i], ref.tolerance[i]) << where;
          // Same activation rounding as generic (when this ISA has a kernel for the type, rather
          // than decoding to f32): only the summation order may differ.
          if (cpu::kernels_for(isa).tile(t)) ASSERT_NEAR(y[i], generic[i], 2e-6 * ref.magnitude[i] + 1e-6) << where;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Matmul,
                         ::testing::Values(DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1,
                                           DType::Q5_0, DType::Q5_1, DType::Q4_K, DType::Q6_K),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(MatmulErrors, RejectsWeightsItCannotUse) {
  auto backend = make_cpu_backend(1);
  std::vector<float> x(64), y(64);
  EXPECT_THROW(backend->matmul(Tensor::zeros(DType::F32, {2, 40}), x.data(), y.data(), 1), Error);
  EXPECT_THROW(backend->matmul(Tensor::zeros(DType::I32, {2, 32}), x.data(), y.data(), 1), Error);
  EXPECT_THROW(backend->matmul(Tensor::zeros(DType::F32, {2, 2, 32}), x.data(), y.data(), 1), Error);
}

}  // namespace
}  // namespace orchard
