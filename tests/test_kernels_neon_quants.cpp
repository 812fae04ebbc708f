// The NEON tables' block-format tiles and activation quantizers. Checked here: the NEON
// tables have them, and the MLX affine tiles of every supported ISA's table match the reference
// dot product (QuantTraits::vec_dot) for every tile size up to kTileRows x kTileTokens (the
// i8mm tiles pair rows and tokens: odd sizes pair one with itself), one group and many, strided
// rows. The other formats' tiles and the q8_0 / q8_1 / q8_K quantizers are checked on every ISA by
// test_kernels_legacy_quants and test_kernels_k_quants. On x86 the NEON case skips and the MLX
// check runs on the x86 tables. scripts/test-aarch64.sh runs all of them under qemu-aarch64.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/kernels.h"
#include "quant/quant.h"

namespace orchard {
namespace {

using cpu::Isa;

constexpr DType kMlxTypes[] = {DType::MLX_Q4_G32, DType::MLX_Q4_G64, DType::MLX_Q4_G128,
                               DType::MLX_Q8_G32, DType::MLX_Q8_G64, DType::MLX_Q8_G128};

// Weight types the NEON tables must have tiles for.
constexpr DType kNeonTiles[] = {DType::Q8_0,       DType::Q4_0,       DType::Q4_1,       DType::Q5_0,
                                DType::Q5_1,       DType::IQ4_NL,     DType::MLX_Q4_G32, DType::MLX_Q4_G64,
                                DType::MLX_Q4_G128, DType::MLX_Q8_G32, DType::MLX_Q8_G64, DType::MLX_Q8_G128,
                                DType::Q2_K,       DType::Q3_K,       DType::Q4_K,       DType::Q5_K,
                                DType::Q6_K};

// scripts/test-aarch64.sh runs this under qemu CPU models with and without the dot product and
// i8mm extensions and names the level the hwcaps detection must pick on each.
TEST(KernelsNeonQuants, DetectsTheBestIsaOfTheCpu) {
  const char* want = std::getenv("ORCHARD_EXPECT_BEST_ISA");
  if (!want) GTEST_SKIP() << "ORCHARD_EXPECT_BEST_ISA not set (scripts/test-aarch64.sh sets it per qemu CPU model)";
  EXPECT_EQ(cpu::isa_name(cpu::best_isa()), want);
}

std::vector<Isa> neon_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::Neon, Isa::NeonI8mm})
    if (cpu::isa_supported(isa)) out.push_back(isa);
  return out;
}

TEST(KernelsNeonQuants, NeonTablesHaveTilesAndQuantizers) {
  const std::vector<Isa> isas = neon_isas();
  if (isas.empty()) GTEST_SKIP() << "no NEON dot product on this CPU";
  for (Isa isa : isas) {
    const cpu::IsaKernels& k = cpu::kernels_for(isa);
    for (DType type : kNeonTiles) EXPECT_NE(k.tile(type), nullptr) << cpu::isa_name(isa) << " " << dtype_name(type);
    for (DType act : {DType::Q8_0, DType::Q8_1, DType::Q8_K})
      EXPECT_NE(k.quantize_activations[dtype_index(act)], nullptr) << cpu::isa_name(isa) << " " << dtype_name(act);
  }
}

// One MLX weight row of n elements, encoded from floats offset per row (biases of both signs).
void random_weights(DType t, uint8_t* row, int64_t n, int r, std::mt19937& rng) {
  std::normal_distribution<float> normal(static_cast<float>(r) - 1.5f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& e : v) e = normal(rng);
  quantize_row(t, v.data(), row, n);
}

// Sum of |w_i x_i| over the decoded rows: the size of the terms both sides add in float.
double magnitude(DType w_type, const uint8_t* w, DType act, const uint8_t* x, int64_t n) {
  std::vector<float> wd(static_cast<size_t>(n)), xd(static_cast<size_t>(n));
  dequantize_row(w_type, w, wd.data(), n);
  dequantize_row(act, x, xd.data(), n);
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m += std::abs(double{wd[i]} * xd[i]);
  return m;
}

// Every MLX tile of `type` in each supported ISA's table (where it has one) against vec_dot.
void check_tiles(DType type) {
  std::mt19937 rng(static_cast<unsigned>(type) + 3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const QuantTraits* traits = quant_traits(type);
  ASSERT_NE(traits->vec_dot, nullptr) << dtype_name(type);
  const DType act = traits->vec_dot_type;
  const int64_t group = dtype_info(type).block_size;
  for (int64_t groups : {int64_t{1}, int64_t{2}, int64_t{5}}) {
    const int64_t n = groups * group;
    const size_t w_stride = row_bytes(type, n) + 6, x_stride = row_bytes(act, n) + 4;  // strided rows
    std::vector<uint8_t> w(w_stride * cpu::kTileRows), x(x_stride * cpu::kTileTokens);
    for (int r = 0; r < cpu::kTileRows; ++r) random_weights(type, w.data() + r * w_stride, n, r, rng);
    std::vector<float> row(static_cast<size_t>(n));
    for (int j = 0; j < cpu::kTileTokens; ++j) {
      for (auto& v : row) v = normal(rng) * static_cast<float>(j + 1);
      quantize_row(act, row.data(), x.data() + j * x_stride, n);
    }
    for (Isa isa : cpu::supported_isas()) {
      const cpu::MatmulTileFn tile = cpu::kernels_for(isa).tile(type);
      if (!tile) continue;
      for (int rows = 1; rows <= cpu::kTileRows; ++rows)
        for (int tokens = 1; tokens <= cpu::kTileTokens; ++tokens) {
          const int64_t y_stride = cpu::kTileRows + 1;
          std::vector<float> y(static_cast<size_t>(cpu::kTileTokens * y_stride), NAN);
          tile({type, w.data(), w_stride, x.data(), x_stride, y.data(), y_stride, rows, tokens, n});
          for (int r = 0; r < y_stride; ++r)
            for (int j = 0; j < cpu::kTileTokens; ++j) {
              const std::string where = std::string(cpu::isa_name(isa)) + " " + std::string(dtype_name(type)) +
                                        " groups " + std::to_string(groups) + " tile " + std::to_string(rows) +
                                        "x" + std::to_string(tokens) + " at " + std::to_string(r) + "," +
                                        std::to_string(j);
              const float got = y[j * y_stride + r];
              if (r >= rows || j >= tokens) {
                EXPECT_TRUE(std::isnan(got)) << "wrote outside the tile: " << where;
                continue;
              }
              const uint8_t* wr = w.data() + r * w_stride;
              const uint8_t* xj = x.data() + j * x_stride;
              EXPECT_NEAR(got, traits->vec_dot(wr, xj, n), 2e-6 * magnitude(type, wr, act, xj, n) + 1e-6) << where;
            }
        }
    }
  }
}

// (test_kernels_mlx checks the x86 tiles through their add_* functions.)
TEST(KernelsNeonQuants, MlxAffineTilesMatchTheReferenceDot) {
  for (DType type : kMlxTypes) check_tiles(type);
}

}  // namespace
}  // namespace orchard
