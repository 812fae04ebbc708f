// The q4_0 / q4_1 / q5_0 / q5_1 / q8_0 / iq4_nl tile kernels of every ISA this CPU supports
// against the reference dot product (QuantTraits::vec_dot), on random bytes (every quant value,
// scales and minimums of both signs), every tile size up to kTileRows x kTileTokens, one block
// and many, strided rows; the fast activation quantizers byte for byte against the reference
// encoders, ties and zero blocks included; and the whole matmul through cpu::matmul with
// prompt-sized batches on several threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "core/threadpool.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/matmul.h"
#include "quant/blocks.h"
#include "quant/quant.h"

namespace orchard {
namespace {

using cpu::Isa;

constexpr DType kTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::IQ4_NL};
constexpr DType kNewTypes[] = {DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::IQ4_NL};

bool has_min(DType t) { return t == DType::Q4_1 || t == DType::Q5_1; }

void put_f16(uint8_t* p, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
}

// n elements of random weight bytes: every quant pattern, small scales (and minimums) of both
// signs in the f16 fields at the start of each block.
void random_weights(DType t, uint8_t* row, int64_t n, std::mt19937& rng) {
  const size_t bytes = row_bytes(t, n), block = dtype_info(t).type_size;
  for (size_t i = 0; i < bytes; ++i) row[i] = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(-0.02f, 0.02f);
  for (size_t b = 0; b < bytes; b += block) {
    put_f16(row + b, scale(rng));
    if (has_min(t)) put_f16(row + b + 2, 8 * scale(rng));
  }
}

// Activation rows quantized by the reference encoder; per-row magnitudes of the values vary.
std::vector<uint8_t> random_activations(DType act, int tokens, int64_t n, size_t stride, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint8_t> x(stride * static_cast<size_t>(tokens));
  std::vector<float> row(static_cast<size_t>(n));
  for (int j = 0; j < tokens; ++j) {
    for (auto& v : row) v = normal(rng) * static_cast<float>(j + 1);
    quantize_row(act, row.data(), x.data() + j * stride, n);
  }
  return x;
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

TEST(KernelsLegacyQuants, TilesMatchTheReferenceDot) {
  std::mt19937 rng(7);
  for (Isa isa : cpu::supported_isas()) {
    const cpu::IsaKernels& k = cpu::kernels_for(isa);
    for (DType type : kTypes) {
      SCOPED_TRACE(std::string(cpu::isa_name(isa)) + " " + std::string(dtype_name(type)));
      const cpu::MatmulTileFn tile = k.tile(type);
      ASSERT_NE(tile, nullptr);
      const QuantTraits* traits = quant_traits(type);
      const DType act = traits->vec_dot_type;
      for (int64_t blocks : {1, 2, 3, 8, 17}) {
        const int64_t n = blocks * kQK;
        const size_t w_stride = row_bytes(type, n) + 6, x_stride = row_bytes(act, n) + 2;  // strided rows
        std::vector<uint8_t> w(w_stride * cpu::kTileRows);
        for (int r = 0; r < cpu::kTileRows; ++r) random_weights(type, w.data() + r * w_stride, n, rng);
        const std::vector<uint8_t> x = random_activations(act, cpu::kTileTokens, n, x_stride, rng);
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
                const float want = traits->vec_dot(wr, xj, n);
                EXPECT_NEAR(got, want, 2e-6 * magnitude(type, wr, act, xj, n) + 1e-6)
                    << "blocks " << blocks << " tile " << rows << "x" << tokens << " at " << r << "," << j;
              }
          }
      }
    }
  }
}

TEST(KernelsLegacyQuants, FastIsasHaveTilesAndQuantizers) {
  for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
    if (!cpu::isa_supported(isa)) continue;
    const cpu::IsaKernels& k = cpu::kernels_for(isa);
    for (DType type : kNewTypes) EXPECT_NE(k.tile(type), nullptr) << cpu::isa_name(isa) << " " << dtype_name(type);
    for (DType act : {DType::Q8_0, DType::Q8_1})
      EXPECT_NE(k.quantize_activations[dtype_index(act)], nullptr) << cpu::isa_name(isa) << " " << dtype_name(act);
  }
}

// Blocks of 32 floats that probe the quantizer's rounding: random values at several scales,
// exact halves after scaling (amax 127 makes d = 1, 63.5 makes d = 0.5), zeros, one nonzero
// value, negative extremes, scales whose f16 is subnormal or infinite.
std::vector<float> quantizer_inputs(std::mt19937& rng) {
  std::vector<float> v;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto block = [&](auto value) {
    for (int i = 0; i < kQK; ++i) v.push_back(value(i));
  };
  for (float scale : {1.0f, 1e-3f, 37.0f, 1e-6f, 3e4f, 1e7f})
    for (int rep = 0; rep < 8; ++rep) block([&](int) { return normal(rng) * scale; });
  for (float d : {1.0f, 0.5f, 0.25f, 2.0f}) {
    block([&](int i) { return i == 0 ? 127.0f * d : (static_cast<float>(i % 17 - 8) + 0.5f) * d; });
    block([&](int i) { return i == 31 ? -127.0f * d : (static_cast<float>(-i) - 0.5f) * d * 0.5f; });
    block([&](int i) { return i == 5 ? 127.0f * d : static_cast<float>(rng() % 255) * 0.5f * d - 63.5f * d; });
  }
  block([](int) { return 0.0f; });
  block([](int i) { return i == 0 ? -0.0f : 0.0f; });
  block([](int i) { return i == 9 ? -2.5f : 0.0f; });
  block([](int i) { return -1.0f - static_cast<float>(i) / 32; });
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (int rep = 0; rep < 64; ++rep) block([&](int) { return uniform(rng) * (rep + 1); });
  return v;
}

TEST(KernelsLegacyQuants, QuantizersMatchTheReferenceBytes) {
  std::mt19937 rng(11);
  const std::vector<float> x = quantizer_inputs(rng);
  for (Isa isa : cpu::supported_isas()) {
    const cpu::IsaKernels& k = cpu::kernels_for(isa);
    for (DType act : {DType::Q8_0, DType::Q8_1}) {
      const FromFloatFn fast = k.quantize_activations[dtype_index(act)];
      if (!fast) continue;
      // Whole rows of one block up to all of them.
      for (int64_t n : {int64_t{kQK}, int64_t{3 * kQK}, static_cast<int64_t>(x.size())}) {
        std::vector<uint8_t> want(row_bytes(act, n)), got(want.size(), 0xAA);
        quantize_row(act, x.data(), want.data(), n);
        fast(x.data(), got.data(), n);
        const size_t block = dtype_info(act).type_size;
        for (size_t i = 0; i < want.size(); ++i)
          ASSERT_EQ(got[i], want[i]) << cpu::isa_name(isa) << " " << dtype_name(act) << " n=" << n << " block "
                                     << i / block << " byte " << i % block;
      }
    }
  }
}

// The whole matmul (activation quantization on the pool, tiles over rows and tokens) on each
// ISA equals the generic kernels up to summation order, for decode and prompt-sized batches
// (n * k above and below the size from which the activations are quantized in parallel).
TEST(KernelsLegacyQuants, MatmulMatchesGeneric) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  ThreadPool pool(3);
  for (DType type : kNewTypes) {
    const int64_t rows = 37, k = 5 * kQK;
    Tensor w = Tensor::zeros(type, {rows, k});
    for (int64_t r = 0; r < rows; ++r) random_weights(type, const_cast<uint8_t*>(w.row(r)), k, rng);
    for (int64_t n : {1, 7, 33, 260}) {
      std::vector<float> x(static_cast<size_t>(n * k));
      for (auto& v : x) v = normal(rng);
      cpu::MatmulScratch scratch;
      std::vector<float> want(static_cast<size_t>(n * rows));
      cpu::matmul(cpu::generic_kernels(), pool, scratch, w, x.data(), want.data(), n);
      const DType act = quant_traits(type)->vec_dot_type;
      std::vector<uint8_t> xq(row_bytes(act, k));
      for (Isa isa : cpu::supported_isas()) {
        std::vector<float> got(want.size(), NAN);
        // The tile path at every batch size: batch kernels (AMX, panels) have their own tests.
        cpu::IsaKernels tiles_only = cpu::kernels_for(isa);
        tiles_only.batch_matmul = nullptr;
        cpu::matmul(tiles_only, pool, scratch, w, x.data(), got.data(), n);
        for (int64_t t = 0; t < n; ++t) {
          quantize_row(act, x.data() + t * k, xq.data(), k);
          for (int64_t r = 0; r < rows; ++r) {
            const size_t i = static_cast<size_t>(t * rows + r);
            ASSERT_NEAR(got[i], want[i], 2e-6 * magnitude(type, w.row(r), act, xq.data(), k) + 1e-6)
                << cpu::isa_name(isa) << " " << dtype_name(type) << " n=" << n << " token " << t << " row " << r;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace orchard
