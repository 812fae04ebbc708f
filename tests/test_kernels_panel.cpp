// The prompt-batch panel matmul (x86/panel_matmul_*.cpp, AVX-512 VNNI and AVX2) against the
// reference dot product (QuantTraits::vec_dot) for every int8-dot weight format: row counts that
// leave a partial panel (16 or 8 rows), token counts that leave a partial 8-token group, one and many
// blocks, strided activation rows. Also the affine-u8 view it is built on, element by element
// against each format's reference decoder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/tensor.h"
#include "core/threadpool.h"
#include "kernels/cpu/affine_u8.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/kernels.h"
#if defined(__x86_64__)
#include "kernels/cpu/x86/panel_matmul.h"
#endif
#include "quant/quant.h"

namespace orchard {
namespace {

constexpr DType kTypes[] = {DType::Q8_0,       DType::Q4_0,       DType::Q4_1,        DType::Q5_0,
                            DType::Q5_1,       DType::IQ4_NL,     DType::Q4_K,        DType::Q5_K,
                            DType::Q6_K,       DType::MLX_Q4_G32, DType::MLX_Q4_G64,  DType::MLX_Q4_G128,
                            DType::MLX_Q8_G32, DType::MLX_Q8_G64, DType::MLX_Q8_G128};

void put_half(uint8_t* p, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
}

// Random rows of `type`: encoded from random floats where orchard encodes the type, otherwise
// random bytes with the scale fields set to sane values (every bit pattern of the quants is
// a valid weight).
std::vector<uint8_t> random_rows(DType type, int64_t rows, int64_t k, std::mt19937& rng) {
  const size_t stride = row_bytes(type, k);
  std::vector<uint8_t> data(stride * static_cast<size_t>(rows));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> scale(0.001f, 0.02f);
  if (quant_traits(type)->from_float) {
    std::vector<float> row(static_cast<size_t>(k));
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& v : row) v = normal(rng) + 0.3f * static_cast<float>(r % 3 - 1);
      quantize_row(type, row.data(), data.data() + r * stride, k);
    }
    return data;
  }
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  const int64_t block = dtype_info(type).block_size;
  const size_t block_bytes = row_bytes(type, block);
  for (size_t at = 0; at < data.size(); at += block_bytes) {
    uint8_t* b = data.data() + at;
    switch (type) {
      case DType::Q4_K: case DType::Q5_K:
        put_half(b, scale(rng));
        put_half(b + 2, scale(rng));
        break;
      case DType::Q6_K: put_half(b + block_bytes - 2, scale(rng)); break;
      default: put_half(b, scale(rng) * 10); break;  // q4_0-style d first
    }
  }
  return data;
}

TEST(KernelsPanel, AffineU8ViewDecodesLikeTheReferenceCodecs) {
  std::mt19937 rng(3);
  for (DType type : kTypes) {
    SCOPED_TRACE(std::string(dtype_name(type)));
    const int64_t k = 512;  // two k-quant super-blocks, four groups of 128
    const std::vector<uint8_t> row = random_rows(type, 1, k, rng);
    std::vector<float> want(static_cast<size_t>(k));
    dequantize_row(type, row.data(), want.data(), k);
    const int sub = cpu::affine_u8_sub_block(type);
    ASSERT_GT(sub, 0);
    std::vector<uint8_t> u(static_cast<size_t>(k));
    std::vector<float> scale(static_cast<size_t>(k / sub)), offset(static_cast<size_t>(k / sub));
    switch (type) {
#define CASE(T) \
  case DType::T: cpu::unpack_affine_u8<DType::T>(row.data(), k, u.data(), scale.data(), offset.data()); break;
      CASE(Q8_0) CASE(Q4_0) CASE(Q4_1) CASE(Q5_0) CASE(Q5_1) CASE(IQ4_NL) CASE(Q4_K) CASE(Q5_K) CASE(Q6_K)
      CASE(MLX_Q4_G32) CASE(MLX_Q4_G64) CASE(MLX_Q4_G128) CASE(MLX_Q8_G32) CASE(MLX_Q8_G64) CASE(MLX_Q8_G128)
#undef CASE
      default: FAIL();
    }
    for (int64_t i = 0; i < k; ++i) {
      const float got = scale[i / sub] * static_cast<float>(u[i]) + offset[i / sub];
      ASSERT_NEAR(got, want[i], 1e-6f * (std::abs(want[i]) + std::abs(offset[i / sub])) + 1e-7f) << "element " << i;
    }
  }
}

#if defined(__x86_64__)
bool eight_bit(DType t) {
  return t == DType::Q8_0 || t == DType::IQ4_NL || t == DType::MLX_Q8_G32 || t == DType::MLX_Q8_G64 ||
         t == DType::MLX_Q8_G128;
}

void check_batch_matmul(cpu::BatchMatmulFn batch, bool takes_eight_bit) {
  ThreadPool pool(2);
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  int tested = 0;
  for (DType type : kTypes) {
    SCOPED_TRACE(std::string(dtype_name(type)));
    const DType act = quant_traits(type)->vec_dot_type;
    ASSERT_TRUE(act == DType::Q8_0 || act == DType::Q8_1 || act == DType::Q8_K) << dtype_name(act);
    const bool takes = takes_eight_bit || !eight_bit(type);
    const int64_t block = std::max<int64_t>(dtype_info(type).block_size, dtype_info(act).block_size);
    for (const auto& [rows, n, blocks] :
         {std::tuple<int64_t, int64_t, int64_t>{16, 8, 1}, {37, 13, 3}, {5, 1, 2}, {50, 21, 5}}) {
      const int64_t k = blocks * block;
      const std::vector<uint8_t> wdata = random_rows(type, rows, k, rng);
      const Tensor w(type, {rows, k}, const_cast<uint8_t*>(wdata.data()));
      const size_t x_stride = row_bytes(act, k) + 4;  // strided rows
      std::vector<uint8_t> x(x_stride * static_cast<size_t>(n));
      std::vector<float> xrow(static_cast<size_t>(k));
      for (int64_t t = 0; t < n; ++t) {
        for (auto& v : xrow) v = normal(rng);
        quantize_row(act, xrow.data(), x.data() + t * x_stride, k);
      }
      std::vector<float> y(static_cast<size_t>(n * rows), NAN);
      ASSERT_EQ(batch(pool, w, x.data(), x_stride, y.data(), n), takes);
      if (!takes) break;
      std::vector<float> wd(static_cast<size_t>(k)), xd(static_cast<size_t>(k));
      for (int64_t t = 0; t < n; ++t) {
        dequantize_row(act, x.data() + t * x_stride, xd.data(), k);
        for (int64_t r = 0; r < rows; ++r) {
          dequantize_row(type, w.row(r), wd.data(), k);
          // The reference dot (what ggml computes: q8_1's f16 sum term included), within the
          // rounding of summing the same products in another order.
          const double want = quant_traits(type)->vec_dot(w.row(r), x.data() + t * x_stride, k);
          double magnitude = 0;
          for (int64_t i = 0; i < k; ++i) magnitude += std::abs(double(wd[i]) * xd[i]);
          ASSERT_NEAR(y[t * rows + r], want, 1e-5 * magnitude + 1e-6)
              << rows << " rows, " << n << " tokens, k " << k << ": row " << r << " token " << t;
        }
      }
    }
    tested += takes;
  }
  EXPECT_GE(tested, takes_eight_bit ? 15 : 10);
}

TEST(KernelsPanel, Avx512BatchMatmulMatchesTheReferenceDot) {
  if (!cpu::isa_supported(cpu::Isa::Avx512)) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  check_batch_matmul(cpu::avx512_panel::batch_matmul, true);
}

TEST(KernelsPanel, Avx2BatchMatmulMatchesTheReferenceDotUpToSixBits) {
  if (!cpu::isa_supported(cpu::Isa::Avx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  check_batch_matmul(cpu::avx2_panel::batch_matmul, false);
}
#endif

}  // namespace
}  // namespace orchard
