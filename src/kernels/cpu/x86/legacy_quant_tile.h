#pragma once
// The register-tile kernel for the 32-element legacy formats (q4_0, q4_1, q5_0, q5_1, q8_0,
// iq4_nl) shared by the AVX2 and AVX-512 files. Per block it computes, as the
// reference dots in quant/dot_reference.cpp,
//   d_w d_x sum q_w q_x            against q8_0 activations
//   d_w d_x sum q_w q_x + m_w s_x  against q8_1 activations (formats with a minimum)
// Each weight block is unpacked to 32 bytes once and used for every token of the tile.
//
// The byte dot takes unsigned weights times signed activations, so the signed formats are
// offset: the quants are stored as u = q + offset (q4_0: +8, q5_0: +16), or (iq4_nl, q8_0)
// either biased by +128 or multiplied with the sign trick |q| * (x with q's sign) where the
// ISA's byte dot saturates 16-bit pair sums (AVX2). Then sum q x = sum u x - offset sum x, and
// the correction depends on the activation block only: it is computed once per token and is
// the starting value of every row's integer dot.
//
// What the ISA supplies (`Simd`, defined in each ISA file's own namespace so no symbol built
// with one ISA's flags is shared with another's, see tile_dispatch.h):
//   VI, VF, kBlocks            int / float vectors holding kBlocks consecutive blocks
//   kLanesPerBlock             float lanes per block (8)
//   kTokensPerPass             tokens whose accumulators fit in registers at once
//   kBiasSigned                signed quants are biased by 128 (else the sign trick)
//   join(q[kBlocks])           the blocks' 32 bytes each in one VI
//   scales(h[kBlocks])         f16 values, each broadcast over its block's lanes
//   dot(acc, u, x)             acc + int32 lanes summing to sum u x (u unsigned, x signed)
//   high_bits(qh)              byte i = 0x10 where bit i of qh is set, else 0
//   abs_i8, sign_i8            for the sign trick (only when !kBiasSigned)
//   zero_i, zero_f, set1_i8, set1_f, sub, cvt, mul, fmadd, sum (of a VF's lanes)
#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/kernels.h"
#include "quant/blocks.h"

namespace orchard::cpu::legacy {

// Unpacking helpers, members of a template on Simd like everything here.
template <class Simd>
struct Unpack {
  // 32 nibbles in element order: low nibbles are elements 0..15, high nibbles 16..31.
  static __m256i nibbles(const uint8_t* qs) {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
  }
  // Nibbles with the fifth bits (q5_0, q5_1) on top: 0..31.
  static __m256i five_bits(const uint8_t* qs, const uint8_t* qh) {
    uint32_t bits;
    std::memcpy(&bits, qh, 4);
    return _mm256_or_si256(nibbles(qs), Simd::high_bits(bits));
  }
};

// Formats, templates on Simd: Block, Act (activation block), kSigned or kOffset, kMin (has m,
// wants q8_1's s), and quants<kBias>(block): 32 bytes, unsigned u = q + kOffset, or for signed
// formats q (kBias false) or q + 128 (kBias true).
template <class Simd>
struct Q4_0 {
  using Block = BlockQ4_0;
  using Act = BlockQ8_0;
  static constexpr bool kSigned = false, kMin = false;
  static constexpr int kOffset = 8;
  template <bool kBias>
  static __m256i quants(const Block& b) { return Unpack<Simd>::nibbles(b.qs); }
};
template <class Simd>
struct Q4_1 {
  using Block = BlockQ4_1;
  using Act = BlockQ8_1;
  static constexpr bool kSigned = false, kMin = true;
  static constexpr int kOffset = 0;
  template <bool kBias>
  static __m256i quants(const Block& b) { return Unpack<Simd>::nibbles(b.qs); }
};
template <class Simd>
struct Q5_0 {
  using Block = BlockQ5_0;
  using Act = BlockQ8_0;
  static constexpr bool kSigned = false, kMin = false;
  static constexpr int kOffset = 16;
  template <bool kBias>
  static __m256i quants(const Block& b) { return Unpack<Simd>::five_bits(b.qs, b.qh); }
};
template <class Simd>
struct Q5_1 {
  using Block = BlockQ5_1;
  using Act = BlockQ8_1;
  static constexpr bool kSigned = false, kMin = true;
  static constexpr int kOffset = 0;
  template <bool kBias>
  static __m256i quants(const Block& b) { return Unpack<Simd>::five_bits(b.qs, b.qh); }
};
template <class Simd>
struct IQ4_NL {
  using Block = BlockIQ4_NL;
  using Act = BlockQ8_0;
  static constexpr bool kSigned = true, kMin = false;
  static constexpr int kOffset = 0;
  // The code book in both 128-bit lanes (vpshufb looks up within each lane), biased or not:
  // a load the compiler hoists out of the loops.
  template <bool kBias>
  static __m256i table() {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4NLValues));
    return _mm256_broadcastsi128_si256(kBias ? _mm_xor_si128(t, _mm_set1_epi8(static_cast<char>(0x80))) : t);
  }
  template <bool kBias>
  static __m256i quants(const Block& b) { return _mm256_shuffle_epi8(table<kBias>(), Unpack<Simd>::nibbles(b.qs)); }
};

template <class Simd>
struct Q8_0 {
  using Block = BlockQ8_0;
  using Act = BlockQ8_0;
  static constexpr bool kSigned = true, kMin = false;
  static constexpr int kOffset = 0;
  template <bool kBias>
  static __m256i quants(const Block& b) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
    return kBias ? _mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80))) : q;
  }
};

template <class Simd, template <class> class FormatOf>
struct LegacyQuantTile {
  using Format = FormatOf<Simd>;
  using VI = typename Simd::VI;
  using VF = typename Simd::VF;
  using Block = typename Format::Block;
  using Act = typename Format::Act;
  static constexpr int kBlocks = Simd::kBlocks;
  static constexpr bool kSignTrick = Format::kSigned && !Simd::kBiasSigned;
  static constexpr int kOffset = Format::kSigned ? (Simd::kBiasSigned ? 128 : 0) : Format::kOffset;

  static void prefetch_ahead(const void* p) { _mm_prefetch(static_cast<const char*>(p) + 1024, _MM_HINT_T0); }

  template <int kCount, class B, class Get>
  static VI join(const B* blocks, Get get) {
    __m256i q[kBlocks];
    for (int i = 0; i < kBlocks; ++i) q[i] = i < kCount ? get(blocks[i]) : _mm256_setzero_si256();
    return Simd::join(q);
  }
  template <int kCount, class B, class Get>
  static VF scales(const B* blocks, Get get) {
    uint16_t h[kBlocks];
    for (int i = 0; i < kBlocks; ++i) h[i] = i < kCount ? get(blocks[i]) : uint16_t{0};
    return Simd::scales(h);
  }

  // R weight rows against T tokens (starting at token j0), accumulators in registers.
  template <int R, int T>
  struct Pass {
    // kCount (<= kBlocks) consecutive blocks of every row and token.
    template <int kCount>
    static void step(const Block* const (&w)[R], const Act* const (&x)[T], VF (&acc)[R][T]) {
      VI xv[T], start[T];
      VF dx[T], sx[T];
      for (int j = 0; j < T; ++j) {
        xv[j] = join<kCount>(x[j], [](const Act& b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)); });
        start[j] = Simd::zero_i();
        if constexpr (kOffset != 0)  // -offset * sum x
          start[j] = Simd::sub(Simd::zero_i(), Simd::dot(Simd::zero_i(), Simd::set1_i8(kOffset), xv[j]));
        dx[j] = scales<kCount>(x[j], [](const Act& b) { return b.d; });
        // m_w s_x spread over a block's lanes (a power of two: exact), summed with the rest.
        if constexpr (Format::kMin)
          sx[j] = Simd::mul(scales<kCount>(x[j], [](const Act& b) { return b.s; }), Simd::set1_f(1.0f / Simd::kLanesPerBlock));
      }
      for (int r = 0; r < R; ++r) {
        prefetch_ahead(w[r]);
        const VI wv = join<kCount>(w[r], [](const Block& b) { return Format::template quants<Simd::kBiasSigned>(b); });
        const VF dw = scales<kCount>(w[r], [](const Block& b) { return b.d; });
        VF mw{};
        if constexpr (Format::kMin) mw = scales<kCount>(w[r], [](const Block& b) { return b.m; });
        for (int j = 0; j < T; ++j) {
          VI dot;
          if constexpr (kSignTrick) dot = Simd::dot(start[j], Simd::abs_i8(wv), Simd::sign_i8(xv[j], wv));
          else dot = Simd::dot(start[j], wv, xv[j]);
          acc[r][j] = Simd::fmadd(Simd::cvt(dot), Simd::mul(dw, dx[j]), acc[r][j]);
          if constexpr (Format::kMin) acc[r][j] = Simd::fmadd(mw, sx[j], acc[r][j]);
        }
      }
    }

    static void run(const MatmulTile& t, int j0) {
      VF acc[R][T];
      for (auto& row : acc)
        for (auto& a : row) a = Simd::zero_f();
      const Block* w[R];
      const Act* x[T];
      for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Block*>(t.w + r * t.w_stride);
      for (int j = 0; j < T; ++j)
        x[j] = reinterpret_cast<const Act*>(static_cast<const uint8_t*>(t.x) + (j0 + j) * t.x_stride);
      const int64_t blocks = t.k / kQK;
      int64_t b = 0;
      for (; b + kBlocks <= blocks; b += kBlocks) {
        step<kBlocks>(w, x, acc);
        for (auto& p : w) p += kBlocks;
        for (auto& p : x) p += kBlocks;
      }
      if constexpr (kBlocks == 2)
        if (b < blocks) step<1>(w, x, acc);
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < T; ++j) t.y[(j0 + j) * t.y_stride + r] = Simd::sum(acc[r][j]);
    }
  };

  // The tile's tokens in passes of at most Simd::kTokensPerPass.
  template <int R, int T, int J0 = 0>
  static void passes(const MatmulTile& t) {
    constexpr int n = T - J0 < Simd::kTokensPerPass ? T - J0 : Simd::kTokensPerPass;
    Pass<R, n>::run(t, J0);
    if constexpr (J0 + n < T) passes<R, T, J0 + n>(t);
  }

  template <int R, int T>
  struct Of {
    static void run(const MatmulTile& t) { passes<R, T>(t); }
  };
};

}  // namespace orchard::cpu::legacy
