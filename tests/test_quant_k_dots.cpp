// The k-quant reference dot products (QuantTraits::vec_dot against q8_K activations) against
// the decoded rows multiplied in double: random super-block bytes (every quant, scale and min
// pattern), scales of both signs, one super-block and many.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "quant/blocks.h"
#include "quant/quant.h"

namespace orchard {
namespace {

constexpr DType kKQuants[] = {DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};

void put_f16(uint8_t* p, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
}

// Random bytes, with small f16 super-block scales (and mins) of both signs in place.
void random_k_row(DType t, uint8_t* row, int64_t n, std::mt19937& rng) {
  for (size_t i = 0; i < row_bytes(t, n); ++i) row[i] = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(-0.01f, 0.01f);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    uint8_t* block = row + b * dtype_info(t).type_size;
    switch (t) {
      case DType::Q2_K:
        put_f16(block + offsetof(BlockQ2_K, d), scale(rng));
        put_f16(block + offsetof(BlockQ2_K, dmin), scale(rng));
        break;
      case DType::Q3_K: put_f16(block + offsetof(BlockQ3_K, d), scale(rng)); break;
      case DType::Q4_K:
        put_f16(block + offsetof(BlockQ4_K, d), scale(rng));
        put_f16(block + offsetof(BlockQ4_K, dmin), scale(rng));
        break;
      case DType::Q5_K:
        put_f16(block + offsetof(BlockQ5_K, d), scale(rng));
        put_f16(block + offsetof(BlockQ5_K, dmin), scale(rng));
        break;
      case DType::Q6_K: put_f16(block + offsetof(BlockQ6_K, d), scale(rng)); break;
      default: FAIL() << "not a k-quant";
    }
  }
}

TEST(QuantKDots, ReferenceDotMatchesDecodedRows) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (DType type : kKQuants) {
    SCOPED_TRACE(std::string(dtype_name(type)));
    const QuantTraits* traits = quant_traits(type);
    ASSERT_EQ(traits->vec_dot_type, DType::Q8_K);
    ASSERT_NE(traits->vec_dot, nullptr);
    for (int64_t blocks : {1, 2, 5, 16}) {
      const int64_t n = blocks * kQK_K;
      for (int rep = 0; rep < 8; ++rep) {
        std::vector<uint8_t> w(row_bytes(type, n)), x(row_bytes(DType::Q8_K, n));
        random_k_row(type, w.data(), n, rng);
        std::vector<float> values(static_cast<size_t>(n));
        for (auto& v : values) v = normal(rng) * static_cast<float>(rep + 1);
        quantize_row(DType::Q8_K, values.data(), x.data(), n);

        std::vector<float> wd(static_cast<size_t>(n)), xd(static_cast<size_t>(n));
        dequantize_row(type, w.data(), wd.data(), n);
        dequantize_row(DType::Q8_K, x.data(), xd.data(), n);
        double want = 0, magnitude = 0;
        for (int64_t i = 0; i < n; ++i) {
          want += double{wd[i]} * xd[i];
          magnitude += std::abs(double{wd[i]} * xd[i]);
        }
        EXPECT_NEAR(traits->vec_dot(w.data(), x.data(), n), want, 1e-5 * magnitude + 1e-6) << "blocks " << blocks;
      }
    }
  }
}

// q8_K's bsums are the sums of each 16 quants (the k-quant dots take the min term from them).
TEST(QuantKDots, Q8KBlockSumsMatchTheQuants) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(kQK_K * 3);
  for (auto& v : values) v = normal(rng);
  std::vector<BlockQ8_K> x(3);
  quantize_row(DType::Q8_K, values.data(), x.data(), kQK_K * 3);
  for (const BlockQ8_K& b : x)
    for (int g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += b.qs[16 * g + j];
      EXPECT_EQ(b.bsums[g], sum);
    }
}

}  // namespace
}  // namespace orchard
