// The MLX affine tile kernels against the reference dot product (QuantTraits::vec_dot of
// quant/mlx_affine.cpp) on random shapes: every tile size up to kTileRows x kTileTokens, group
// counts that are odd and not multiples of the unrolling, strided rows.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/kernels.h"
#if defined(__x86_64__)
#include "kernels/cpu/x86/tile_sets.h"
#endif
#include "quant/quant.h"

namespace orchard {
namespace {

using cpu::Isa;

constexpr DType kTypes[] = {DType::MLX_Q4_G32, DType::MLX_Q4_G64, DType::MLX_Q4_G128,
                            DType::MLX_Q8_G32, DType::MLX_Q8_G64, DType::MLX_Q8_G128};

#if defined(__x86_64__)
void check_tiles(const cpu::IsaKernels& k) {
  std::mt19937 rng(17);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (DType type : kTypes) {
    SCOPED_TRACE(std::string(dtype_name(type)));
    const cpu::MatmulTileFn tile = k.tile(type);
    ASSERT_NE(tile, nullptr);
    const QuantTraits* traits = quant_traits(type);
    const int64_t group = dtype_info(type).block_size;
    for (int64_t groups : {int64_t{1}, int64_t{3}, int64_t{7}}) {
      const int64_t n = groups * group;
      const size_t w_stride = row_bytes(type, n) + 8, x_stride = row_bytes(DType::Q8_0, n) + 2;  // strided rows
      std::vector<uint8_t> w(w_stride * cpu::kTileRows), x(x_stride * cpu::kTileTokens);
      std::vector<float> row(static_cast<size_t>(n));
      for (int r = 0; r < cpu::kTileRows; ++r) {
        const float offset = static_cast<float>(r) - 1.5f;  // biases of both signs
        for (auto& v : row) v = normal(rng) + offset;
        quantize_row(type, row.data(), w.data() + r * w_stride, n);
      }
      for (int j = 0; j < cpu::kTileTokens; ++j) {
        for (auto& v : row) v = normal(rng);
        quantize_row(DType::Q8_0, row.data(), x.data() + j * x_stride, n);
      }
      for (int rows = 1; rows <= cpu::kTileRows; ++rows)
        for (int tokens = 1; tokens <= cpu::kTileTokens; ++tokens) {
          std::vector<float> y(static_cast<size_t>(cpu::kTileTokens * cpu::kTileRows), NAN);
          tile({type, w.data(), w_stride, x.data(), x_stride, y.data(), cpu::kTileRows, rows, tokens, n});
          for (int r = 0; r < rows; ++r)
            for (int j = 0; j < tokens; ++j) {
              const float want = traits->vec_dot(w.data() + r * w_stride, x.data() + j * x_stride, n);
              // Bound by the size of the terms: both sum the same per-block products in float.
              std::vector<float> wd(static_cast<size_t>(n)), xd(static_cast<size_t>(n));
              dequantize_row(type, w.data() + r * w_stride, wd.data(), n);
              dequantize_row(DType::Q8_0, x.data() + j * x_stride, xd.data(), n);
              double magnitude = 0;
              for (int64_t i = 0; i < n; ++i) magnitude += std::abs(double(wd[i]) * xd[i]);
              EXPECT_NEAR(y[j * cpu::kTileRows + r], want, 2e-6 * magnitude + 1e-6)
                  << "groups " << groups << " tile " << rows << "x" << tokens << " at " << r << "," << j;
            }
        }
    }
  }
}

TEST(KernelsMlx, Avx2TilesMatchTheReferenceDot) {
  if (!cpu::isa_supported(Isa::Avx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  cpu::IsaKernels k{.isa = Isa::Avx2};
  cpu::add_mlx_affine_tiles_avx2(k);
  check_tiles(k);
}

TEST(KernelsMlx, Avx512TilesMatchTheReferenceDot) {
  if (!cpu::isa_supported(Isa::Avx512)) GTEST_SKIP() << "no AVX-512 on this CPU";
  cpu::IsaKernels k{.isa = Isa::Avx512};
  cpu::add_mlx_affine_tiles_avx512(k);
  check_tiles(k);
}
#endif

}  // namespace
}  // namespace orchard
