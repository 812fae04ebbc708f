// AVX-512 VNNI tiles for MLX affine weights (the kernel is mlx_affine_tile.h). MLX quants are
// unsigned (0..15 or 0..255), exactly what vpdpbusd's unsigned operand wants, so no offset
// trick is needed; sum q_x is one more vpdpbusd against ones.
#include <immintrin.h>

// GCC 12's AVX-512 intrinsics start from an undefined vector and warn about it wherever they
// are inlined: a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/x86/tile_sets.h"
#include "kernels/cpu/x86/mlx_affine_tile.h"
#include "kernels/cpu/x86/tile_dispatch.h"

// Own namespace: see tile_dispatch.h on why ISA files must not share symbol names.
namespace orchard::cpu::mlx_avx512 {
namespace {

struct IntDot {
  static __m256i block_sum(__m256i x) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), x); }
  template <int Bits>
  static __m256i prepare(__m256i w) {
    return w;
  }
  template <int Bits>
  static __m256i dot(__m256i w, __m256i x) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, x);
  }
  template <int Bits>
  static float bias_offset(float) {
    return 0.0f;
  }
};

}  // namespace
}  // namespace orchard::cpu::mlx_avx512

namespace orchard::cpu {

void add_mlx_affine_tiles_avx512(IsaKernels& k) {
  using mlx_avx512::IntDot;
  k.set_tile(DType::MLX_Q4_G32, dispatch_tile<MlxAffineTile<IntDot, 4, 32>::Of>);
  k.set_tile(DType::MLX_Q4_G64, dispatch_tile<MlxAffineTile<IntDot, 4, 64>::Of>);
  k.set_tile(DType::MLX_Q4_G128, dispatch_tile<MlxAffineTile<IntDot, 4, 128>::Of>);
  k.set_tile(DType::MLX_Q8_G32, dispatch_tile<MlxAffineTile<IntDot, 8, 32>::Of>);
  k.set_tile(DType::MLX_Q8_G64, dispatch_tile<MlxAffineTile<IntDot, 8, 64>::Of>);
  k.set_tile(DType::MLX_Q8_G128, dispatch_tile<MlxAffineTile<IntDot, 8, 128>::Of>);
}

}  // namespace orchard::cpu
