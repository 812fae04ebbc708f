// AVX2 tiles for MLX affine weights (the kernel is mlx_affine_tile.h). vpmaddubsw (unsigned x
// signed bytes, pairs summed into saturating int16) takes 4-bit quants as they are; 8-bit
// quants (0..255) would saturate, so they are offset to q - 128 and multiplied by the sign
// trick (|q'| times x with q's sign), the offset returning as 128 * scale in the bias term.
#include "kernels/cpu/x86/tile_sets.h"
#include "kernels/cpu/x86/mlx_affine_tile.h"
#include "kernels/cpu/x86/tile_dispatch.h"

// Own namespace: see tile_dispatch.h on why ISA files must not share symbol names.
namespace orchard::cpu::mlx_avx2 {
namespace {

struct IntDot {
  // int32 lanes of sum w x: unsigned bytes w (each pair's products below 2^15) by signed x.
  static __m256i dot_u8_s8(__m256i w, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
  }
  static __m256i block_sum(__m256i x) { return dot_u8_s8(_mm256_set1_epi8(1), x); }
  template <int Bits>
  static __m256i prepare(__m256i w) {
    if constexpr (Bits == 8) return _mm256_xor_si256(w, _mm256_set1_epi8(static_cast<char>(0x80)));  // q - 128
    return w;
  }
  template <int Bits>
  static __m256i dot(__m256i w, __m256i x) {
    if constexpr (Bits == 8) return dot_u8_s8(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
    return dot_u8_s8(w, x);
  }
  template <int Bits>
  static float bias_offset(float scale) {
    return Bits == 8 ? 128.0f * scale : 0.0f;
  }
};

}  // namespace
}  // namespace orchard::cpu::mlx_avx2

namespace orchard::cpu {

void add_mlx_affine_tiles_avx2(IsaKernels& k) {
  using mlx_avx2::IntDot;
  k.set_tile(DType::MLX_Q4_G32, dispatch_tile<MlxAffineTile<IntDot, 4, 32>::Of>);
  k.set_tile(DType::MLX_Q4_G64, dispatch_tile<MlxAffineTile<IntDot, 4, 64>::Of>);
  k.set_tile(DType::MLX_Q4_G128, dispatch_tile<MlxAffineTile<IntDot, 4, 128>::Of>);
  k.set_tile(DType::MLX_Q8_G32, dispatch_tile<MlxAffineTile<IntDot, 8, 32>::Of>);
  k.set_tile(DType::MLX_Q8_G64, dispatch_tile<MlxAffineTile<IntDot, 8, 64>::Of>);
  k.set_tile(DType::MLX_Q8_G128, dispatch_tile<MlxAffineTile<IntDot, 8, 128>::Of>);
}

}  // namespace orchard::cpu
