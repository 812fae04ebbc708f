// The NEON tables' block-format tiles and activation quantizers. Checked here: the NEON
// tables have them, and the MLX affine and k-quant tiles of every supported ISA's table match
// the reference dot product (QuantTraits::vec_dot) for every tile size up to kTileRows x
// kTileTokens (the i8mm tiles pair rows and tokens: odd sizes pair one with itself), one group
// and many, strided rows. q4_1 / q5_0 / q5_1 / iq4_nl tiles and the q8_0 / q8_1 quantizers are
// checked on every ISA by test_kernels_legacy_quants. On x86 the NEON cases skip; the tile
// checks run on the x86 tables. scripts/test-aarch64.sh runs this under qemu-aarch64.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/kernels.h"
#include "quant/blocks.h"
#include "quant/quant.h"

namespace orchard {
namespace {

using cpu::Isa;

constexpr DType kMlxTypes[] = {DType::MLX_Q4_G32, DType::MLX_Q4_G64, DType::MLX_Q4_G128,
                               DType::MLX_Q8_G32, DType::MLX_Q8_G64, DType::MLX_Q8_G128};
constexpr DType kKQuantTypes[] = {DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};

// Weight types the NEON tables must have tiles for.
constexpr DType kNeonTiles[] = {DType::Q8_0,       DType::Q4_0,       DType::Q4_1,       DType::Q5_0,
                                DType::Q5_1,       DType::IQ4_NL,     DType::MLX_Q4_G32, DType::MLX_Q4_G64,
                                DType::MLX_Q4_G128, DType::MLX_Q8_G32, DType::MLX_Q8_G64, DType::MLX_Q8_G128};

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
    for (DType act : {DType::Q8_0, DType::Q8_1})
      EXPECT_NE(k.quantize_activations[dtype_index(act)], nullptr) << cpu::isa_name(isa) << " " << dtype_name(act);
  }
}

void put_f16(uint8_t* p, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
}

// One weight row of n elements: MLX rows encoded from floats (offset per row: biases of both
// signs), k-quant rows random bytes (every quant and packed scale pattern) with small f16
// super-block scales of both signs.
void random_weights(DType t, uint8_t* row, int64_t n, int r, std::mt19937& rng) {
  const QuantTraits* traits = quant_traits(t);
  if (traits->from_float) {
    std::normal_distribution<float> normal(static_cast<float>(r) - 1.5f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& e : v) e = normal(rng);
    traits->from_float(v.data(), row, n);
    return;
  }
  const size_t bytes = row_bytes(t, n), block = dtype_info(t).type_size;
  for (size_t i = 0; i < bytes; ++i) row[i] = static_cast<uint8_t>(rng());
  // Where each k-quant block keeps its f16 scale d (and dmin right after it, for those with one).
  size_t d = 0;
  bool has_dmin = true;
  switch (t) {
    case DType::Q2_K: d = offsetof(BlockQ2_K, d); break;
    case DType::Q3_K: d = offsetof(BlockQ3_K, d), has_dmin = false; break;
    case DType::Q6_K: d = offsetof(BlockQ6_K, d), has_dmin = false; break;
    default: d = 0; break;  // q4_K, q5_K: d, dmin first
  }
  std::uniform_real_distribution<float> scale(-0.01f, 0.01f);
  for (size_t b = 0; b < bytes; b += block) {
    put_f16(row + b + d, scale(rng));
    if (has_dmin) put_f16(row + b + d + 2, scale(rng));
  }
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

// Every tile of `type` in each supported ISA's table (where it has one) against vec_dot.
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

TEST(KernelsNeonQuants, MlxAffineTilesMatchTheReferenceDot) {
  for (DType type : kMlxTypes) check_tiles(type);
}

TEST(KernelsNeonQuants, KQuantTilesMatchTheReferenceDot) {
  for (DType type : kKQuantTypes) check_tiles(type);
}

}  // namespace
}  // namespace orchard
