// The non-matmul CPU ops against direct formulas written in double precision (attention: test_kernels_attention.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

std::vector<float> random_vector(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

class Ops : public ::testing::TestWithParam<Isa> {
 protected:
  std::unique_ptr<Backend> backend() const { return cpu::make_cpu_backend(3, GetParam()); }
};

TEST_P(Ops, RmsNormMatchesFormula) {
  std::mt19937 rng(1);
  const int64_t rows = 5, dim = 96;
  const auto x = random_vector(rows * dim, rng, 3.0f), w = random_vector(dim, rng);
  std::vector<float> y(x.size());
  backend()->rms_norm(x.data(), w.data(), y.data(), rows, dim, 1e-5f);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += double{x[r * dim + i]} * x[r * dim + i];
    const double inv = 1.0 / std::sqrt(ss / dim + 1e-5);
    for (int64_t i = 0; i < dim; ++i) EXPECT_NEAR(y[r * dim + i], x[r * dim + i] * inv * w[i], 1e-5);
  }
  std::vector<float> in_place = x;  // y may alias x
  backend()->rms_norm(in_place.data(), w.data(), in_place.data(), rows, dim, 1e-5f);
  EXPECT_EQ(in_place, y);
}

// Rotation of each pair by position * inv_freq, with the pairing of each layout.
TEST_P(Ops, RopeRotatesPairsOfEachLayout) {
  std::mt19937 rng(2);
  const int64_t n_tokens = 3, n_heads = 2;
  const std::vector<int32_t> positions = {0, 7, 1234};
  for (RopeStyle style : {RopeStyle::Interleaved, RopeStyle::Neox}) {
    for (int64_t head_dim : {64, 32}) {
      const int64_t rot_dim = head_dim == 64 ? 64 : 16;  // full and partial rotation
      std::vector<float> inv_freq(static_cast<size_t>(rot_dim / 2));
      for (size_t i = 0; i < inv_freq.size(); ++i)
        inv_freq[i] = static_cast<float>(std::pow(10000.0, -2.0 * i / rot_dim));
      const RopeTable table{style, rot_dim, inv_freq.data(), 0.9f};
      const auto x = random_vector(n_tokens * n_heads * head_dim, rng);
      std::vector<float> y = x;
      backend()->rope(y.data(), n_tokens, n_heads, head_dim, positions.data(), table);
      for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t h = 0; h < n_heads; ++h) {
          const float* in = x.data() + (t * n_heads + h) * head_dim;
          const float* out = y.data() + (t * n_heads + h) * head_dim;
          for (int64_t i = 0; i < rot_dim / 2; ++i) {
            const int64_t a = style == RopeStyle::Interleaved ? 2 * i : i;
            const int64_t b = style == RopeStyle::Interleaved ? 2 * i + 1 : i + rot_dim / 2;
            const double angle = double{static_cast<float>(positions[t]) * inv_freq[i]};
            const double c = std::cos(angle) * 0.9, s = std::sin(angle) * 0.9;
            EXPECT_NEAR(out[a], in[a] * c - in[b] * s, 1e-5);
            EXPECT_NEAR(out[b], in[a] * s + in[b] * c, 1e-5);
          }
          for (int64_t i = rot_dim; i < head_dim; ++i) EXPECT_EQ(out[i], in[i]) << "unrotated dim " << i;
        }
      }
    }
  }
}

TEST_P(Ops, ElementwiseOps) {
  std::mt19937 rng(4);
  auto gate = random_vector(37, rng, 4.0f);
  const auto up = random_vector(37, rng);
  const auto original = gate;
  backend()->silu_mul(gate.data(), up.data(), 37);
  for (size_t i = 0; i < gate.size(); ++i)
    EXPECT_NEAR(gate[i], original[i] / (1 + std::exp(-double{original[i]})) * up[i], 1e-5);

  std::vector<float> y = {1, 2, 3, 4, 5, 6};
  const std::vector<float> x = {10, 20, 30, 40, 50, 60};
  backend()->add(y.data(), x.data(), 6);
  EXPECT_EQ(y, (std::vector<float>{11, 22, 33, 44, 55, 66}));
  Tensor bias = Tensor::zeros(DType::F32, {3});
  bias.f32()[0] = 1, bias.f32()[1] = -1, bias.f32()[2] = 0.5f;
  backend()->add_bias(y.data(), bias, 2, 3);
  EXPECT_EQ(y, (std::vector<float>{12, 21, 33.5f, 45, 54, 66.5f}));
  EXPECT_THROW(backend()->add_bias(y.data(), bias, 3, 2), Error);
}

TEST_P(Ops, GetRowsDecodesTheRequestedRows) {
  std::mt19937 rng(5);
  const auto values = random_vector(4 * 64, rng);
  Tensor table = Tensor::zeros(DType::Q8_0, {4, 64});
  quantize_row(DType::Q8_0, values.data(), table.data(), 4 * 64);
  const std::vector<int32_t> ids = {3, 0, 3};
  std::vector<float> out(3 * 64), expect(64);
  backend()->get_rows(table, ids.data(), 3, out.data());
  for (size_t i = 0; i < ids.size(); ++i) {
    dequantize_row(DType::Q8_0, table.row(ids[i]), expect.data(), 64);
    EXPECT_EQ(std::vector<float>(out.begin() + i * 64, out.begin() + (i + 1) * 64), expect);
  }
  const int32_t bad = 4;
  EXPECT_THROW(backend()->get_rows(table, &bad, 1, out.data()), Error);
}

TEST_P(Ops, ExpSumIsAccurateOverTheFloatRange) {
  const cpu::IsaKernels& kernels = cpu::kernels_for(GetParam());
  std::vector<float> x;
  for (float v = -85.5f; v <= 89.5f; v += 0.01f) x.push_back(v);  // v - 1.5 spans [-87, 88]
  x.push_back(-1000.0f);  // far below the range: about zero, never negative or NaN
  const std::vector<float> original = x;
  kernels.exp_sum(x.data(), static_cast<int64_t>(x.size()), 1.5f);
  for (size_t i = 0; i + 1 < x.size(); ++i) {
    const double expect = std::exp(double{original[i] - 1.5f});  // the shift is applied in float
    ASSERT_NEAR(x[i], expect, 4e-7 * expect) << "exp(" << original[i] << " - 1.5)";
  }
  EXPECT_GE(x.back(), 0.0f);
  EXPECT_LT(x.back(), 1e-37f);

  // The returned sum, over softmax-like scores (37 values: partial-sum lanes plus a tail).
  std::vector<float> scores(37);
  double expect_sum = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    scores[i] = -0.7f * static_cast<float>(i);
    expect_sum += std::exp(double{scores[i] - 0.5f});
  }
  EXPECT_NEAR(kernels.exp_sum(scores.data(), 37, 0.5f), expect_sum, 1e-6 * expect_sum);
}

TEST_P(Ops, SiluMulOnPrefillSizedBatch) {  // takes the threaded path
  std::mt19937 rng(6);
  const size_t n = 100000;
  auto gate = random_vector(n, rng, 6.0f);
  const auto up = random_vector(n, rng), original = gate;
  backend()->silu_mul(gate.data(), up.data(), static_cast<int64_t>(n));
  for (size_t i = 0; i < n; ++i)
    ASSERT_NEAR(gate[i], original[i] / (1 + std::exp(-double{original[i]})) * up[i], 1e-5 * (1 + std::fabs(original[i])));
}

INSTANTIATE_TEST_SUITE_P(Isas, Ops, ::testing::ValuesIn(cpu::supported_isas()),
                         [](const auto& info) {
                           std::string name(cpu::isa_name(info.param));
                           std::replace(name.begin(), name.end(), '-', '_');  // gtest names: [A-Za-z0-9_]
                           return name;
                         });

}  // namespace
}  // namespace orchard
