// The q2_K .. q6_K tile kernels of every ISA this CPU supports against the reference dot
// product (QuantTraits::vec_dot against q8_K), on random super-block bytes (every quant, scale
// and min pattern, super-block scales of both signs), every tile size up to kTileRows x
// kTileTokens, one super-block and many, strided rows; the fast q8_K quantizers byte for byte
// against the reference encoder, ties and zero blocks included.
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

constexpr DType kKQuants[] = {DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};

void put_f16(uint8_t* p, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
}

// Where a super-block keeps its f16 scale and (0 if none) min.
std::pair<size_t, size_t> scale_offsets(DType t) {
  switch (t) {
    case DType::Q2_K: return {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)};
    case DType::Q3_K: return {offsetof(BlockQ3_K, d), 0};
    case DType::Q4_K: return {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
    case DType::Q5_K: return {offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)};
    default: return {offsetof(BlockQ6_K, d), 0};
  }
}

void random_weights(DType t, uint8_t* row, int64_t n, std::mt19937& rng) {
  for (size_t i = 0; i < row_bytes(t, n); ++i) row[i] = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(-0.01f, 0.01f);
  const auto [d, dmin] = scale_offsets(t);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    uint8_t* block = row + b * dtype_info(t).type_size;
    put_f16(block + d, scale(rng));
    if (dmin) put_f16(block + dmin, scale(rng));
  }
}

// Activation rows quantized by the reference encoder; per-row magnitudes of the values vary.
std::vector<uint8_t> random_activations(int tokens, int64_t n, size_t stride, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint8_t> x(stride * static_cast<size_t>(tokens));
  std::vector<float> row(static_cast<size_t>(n));
  for (int j = 0; j < tokens; ++j) {
    for (auto& v : row) v = normal(rng) * static_cast<float>(j + 1);
    quantize_row(DType::Q8_K, row.data(), x.data() + j * stride, n);
  }
  return x;
}

// Sum of |w_i x_i| over the decoded rows: the size of the terms both sides add in float.
double magnitude(DType w_type, const uint8_t* w, const uint8_t* x, int64_t n) {
  std::vector<float> wd(static_cast<size_t>(n)), xd(static_cast<size_t>(n));
  dequantize_row(w_type, w, wd.data(), n);
  dequantize_row(DType::Q8_K, x, xd.data(), n);
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m += std::abs(double{wd[i]} * xd[i]);
  return m;
}

TEST(KernelsKQuants, TilesMatchTheReferenceDot) {
  std::mt19937 rng(11);
  for (Isa isa : cpu::supported_isas()) {
    const cpu::IsaKernels& k = cpu::kernels_for(isa);
    for (DType type : kKQuants) {
      SCOPED_TRACE(std::string(cpu::isa_name(isa)) + " " + std::string(dtype_name(type)));
      const cpu::MatmulTileFn tile = k.tile(type);
      ASSERT_NE(tile, nullptr);
      const QuantTraits* traits = quant_traits(type);
      for (int64_t blocks : {1, 2, 3, 11}) {
        const int64_t n = blocks * kQK_K;
        const size_t w_stride = row_bytes(type, n) + 6, x_stride = row_bytes(DType::Q8_K, n) + 4;  // strided rows
        std::vector<uint8_t> w(w_stride * cpu::kTileRows);
        for (int r = 0; r < cpu::kTileRows; ++r) random_weights(type, w.data() + r * w_stride, n, rng);
        const std::vector<uint8_t> x = random_activations(cpu::kTileTokens, n, x_stride, rng);
        for (int rows = 1; rows <= cpu::kTileRows; ++rows)
          for (int tokens = 1; tokens <= cpu::kTileTokens; ++tokens) {
            const int64_t y_stride = cpu::kTileRows + 1;
            std::vector<float> y(static_cast<size_t>(cpu::kTileTokens * y_stride), NAN);
            tile({type, w.data(), w_stride, x.data(), x_stride, y.data(), y_stride, rows, tokens, n});
            for (int r = 0; r < cpu::kTileRows + 1; ++r)
              for (int j = 0; j < cpu::kTileTokens; ++j) {
                const float got = y[j * y_stride + r];
                if (r >= rows || j >= tokens) {
                  EXPECT_TRUE(std::isnan(got)) << "wrote outside the tile at " << r << "," << j;
                  continue;
                }
                const uint8_t* wr = w.data() + r * w_stride;
                const uint8_t* xj = x.data() + j * x_stride;
                EXPECT_NEAR(got, traits->vec_dot(wr, xj, n), 2e-6 * magnitude(type, wr, xj, n) + 1e-6)
                    << "blocks " << blocks << " tile " << rows << "x" << tokens << " at " << r << "," << j;
              }
          }
      }
    }
  }
}

TEST(KernelsKQuants, FastIsasHaveTilesAndTheQuantizer) {
  for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
    if (!cpu::isa_supported(isa)) continue;
    const cpu::IsaKernels& k = cpu::kernels_for(isa);
    for (DType type : kKQuants) EXPECT_NE(k.tile(type), nullptr) << cpu::isa_name(isa) << " " << dtype_name(type);
    EXPECT_NE(k.quantize_activations[dtype_index(DType::Q8_K)], nullptr) << cpu::isa_name(isa);
  }
}

// Super-blocks that probe the quantizer: random values at several scales, exact halves after
// scaling, the extreme at either end and with either sign (and both signs tied: the first
// wins), zeros, one nonzero value, huge and tiny magnitudes.
std::vector<float> quantizer_inputs(std::mt19937& rng) {
  std::vector<float> v;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto block = [&](auto value) {
    for (int i = 0; i < kQK_K; ++i) v.push_back(value(i));
  };
  for (float scale : {1.0f, 1e-3f, 37.0f, 1e-6f, 3e4f, 1e7f, 1e-30f})
    for (int rep = 0; rep < 4; ++rep) block([&](int) { return normal(rng) * scale; });
  for (float d : {1.0f, 0.5f, 0.25f, 2.0f}) {
    block([&](int i) { return i == 0 ? -127.0f * d : (static_cast<float>(i % 17 - 8) + 0.5f) * d; });
    block([&](int i) { return i == 255 ? 127.0f * d : (static_cast<float>(-(i % 100)) - 0.5f) * d; });
    block([&](int i) { return i == 77 ? -127.0f * d : static_cast<float>(rng() % 255) * 0.5f * d - 63.5f * d; });
  }
  block([](int i) { return i == 3 ? 5.0f : i == 200 ? -5.0f : 0.25f; });
  block([](int i) { return i == 3 ? -5.0f : i == 200 ? 5.0f : 0.25f; });
  block([](int) { return 0.0f; });
  block([](int i) { return i == 0 ? -0.0f : 0.0f; });
  block([](int i) { return i == 129 ? -2.5f : 0.0f; });
  return v;
}

TEST(KernelsKQuants, FastQuantizerGivesTheReferenceBytes) {
  std::mt19937 rng(13);
  const std::vector<float> values = quantizer_inputs(rng);
  const int64_t n = static_cast<int64_t>(values.size());
  std::vector<uint8_t> want(row_bytes(DType::Q8_K, n));
  quantize_row(DType::Q8_K, values.data(), want.data(), n);
  for (Isa isa : cpu::supported_isas()) {
    const FromFloatFn fast = cpu::kernels_for(isa).quantize_activations[dtype_index(DType::Q8_K)];
    if (!fast) continue;
    std::vector<uint8_t> got(want.size(), 0xAA);
    fast(values.data(), got.data(), n);
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      const size_t at = static_cast<size_t>(b) * sizeof(BlockQ8_K);
      EXPECT_EQ(std::memcmp(got.data() + at, want.data() + at, sizeof(BlockQ8_K)), 0)
          << cpu::isa_name(isa) << " super-block " << b;
    }
  }
}

}  // namespace
}  // namespace orchard
