#pragma once
// Attention's KV row kernels (KvScoresFn / KvAccumulateFn) shared by the AVX2 and AVX-512
// files. The loops are the same for both; what differs comes from `V`, one ISA's vector:
//   V::Reg, V::kLanes                  the f32 register and its width
//   V::kAccumulators                   registers a tile may keep as accumulators
//   V::zero(), set1, load, store, fma, reduce
//   V::load_f16(p), V::load_i8(p)      kLanes halves / signed bytes as f32
//   V::byte_dot(k, q)                  int32 lanes summing to sum k q over 32 signed bytes
// Query heads are taken kGroupTile at a time so each key row is loaded (and converted from
// f16 or q8_0) once per tile of query heads, not once per head. As in mlx_affine_tile.h,
// everything is a member of a template on V, defined by each ISA file in its own namespace.
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/kernels.h"
#include "quant/blocks.h"

namespace orchard::cpu {

template <class V>
struct KvRows {
  using Reg = typename V::Reg;
  static constexpr int kLanes = V::kLanes;
  static constexpr int kGroupTile = 4;

  // Element access by cache type: load(row, i) = elements [i, i + kLanes) as f32; at(row, i)
  // one element (for head_dim tails). q8_0 rows are whole blocks (head_dim % 32 == 0).
  struct F32 {
    static Reg load(const uint8_t* row, int64_t i) { return V::load(reinterpret_cast<const float*>(row) + i); }
    static float at(const uint8_t* row, int64_t i) { return reinterpret_cast<const float*>(row)[i]; }
  };
  struct F16 {
    static Reg load(const uint8_t* row, int64_t i) { return V::load_f16(reinterpret_cast<const uint16_t*>(row) + i); }
    static float at(const uint8_t* row, int64_t i) { return _cvtsh_ss(reinterpret_cast<const uint16_t*>(row)[i]); }
  };
  struct Q8 {
    static Reg load(const uint8_t* row, int64_t i) {
      const BlockQ8_0& b = reinterpret_cast<const BlockQ8_0*>(row)[i / kQK];
      return V::mul(V::load_i8(b.qs + i % kQK), V::set1(_cvtsh_ss(b.d)));
    }
    static float at(const uint8_t* row, int64_t i) {
      const BlockQ8_0& b = reinterpret_cast<const BlockQ8_0*>(row)[i / kQK];
      return _cvtsh_ss(b.d) * b.qs[i % kQK];
    }
  };

  // Calls tile.template operator()<G>(g0) over the group in tiles of kGroupTile query heads
  // (G known at compile time, so the accumulators stay in registers).
  template <class Fn>
  static void by_group_tiles(int64_t group, const Fn& tile) {
    int64_t g0 = 0;
    for (; g0 + kGroupTile <= group; g0 += kGroupTile) tile.template operator()<kGroupTile>(g0);
    switch (group - g0) {
      case 3: tile.template operator()<3>(g0); break;
      case 2: tile.template operator()<2>(g0); break;
      case 1: tile.template operator()<1>(g0); break;
      default: break;
    }
  }

  // Independent accumulator registers per tile: one FMA chain per (key, head) or (head,
  // slice) keeps the adds' latency hidden; a few more than the FMA units' depth, fewer than
  // the registers (V::kAccumulators: 8 of AVX2's 16, 16 of AVX-512's 32).
  template <int G>
  static constexpr int kKeyTile = std::min(8, std::max(1, V::kAccumulators / G));
  template <int G>
  static constexpr int kSliceTile = std::min(4, std::max(1, V::kAccumulators / G));

  // Runs tile.template operator()<T>(j) over [0, n) in steps of T, the rest one at a time.
  template <int T, class Fn>
  static void in_steps(int64_t n, const Fn& tile) {
    int64_t j = 0;
    for (; j + T <= n; j += T) tile.template operator()<T>(j);
    for (; j < n; ++j) tile.template operator()<1>(j);
  }

  // f32 / f16 keys against f32 query rows, KT keys by G heads at a time.
  template <class E>
  static void float_scores(const KvBlock& b, const void* q, size_t q_stride, float scale) {
    by_group_tiles(b.group, [&]<int G>(int64_t g0) {
      const float* qg[G];
      for (int g = 0; g < G; ++g) qg[g] = reinterpret_cast<const float*>(static_cast<const uint8_t*>(q) + (g0 + g) * q_stride);
      const int64_t vec_end = b.head_dim / kLanes * kLanes;
      in_steps<kKeyTile<G>>(b.n_keys, [&]<int KT>(int64_t j0) {
        const uint8_t* k[KT];
        for (int t = 0; t < KT; ++t) k[t] = b.rows + (j0 + t) * b.row_stride;
        Reg acc[KT][G];
        for (auto& row : acc)
          for (auto& a : row) a = V::zero();
        for (int64_t i = 0; i < vec_end; i += kLanes) {
          Reg qv[G];
          for (int g = 0; g < G; ++g) qv[g] = V::load(qg[g] + i);
          for (int t = 0; t < KT; ++t) {
            const Reg kv = E::load(k[t], i);
            for (int g = 0; g < G; ++g) acc[t][g] = V::fma(kv, qv[g], acc[t][g]);
          }
        }
        for (int t = 0; t < KT; ++t)
          for (int g = 0; g < G; ++g) {
            float s = V::reduce(acc[t][g]);
            for (int64_t i = vec_end; i < b.head_dim; ++i) s += E::at(k[t], i) * qg[g][i];
            b.scores[(g0 + g) * b.score_stride + j0 + t] = scale * s;
          }
      });
    });
  }

  static float hsum(__m256 v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
  }

  // q8_0 keys against q8_0 query rows: integer dot per 32-element block, scaled by d_k * d_q.
  static void q8_scores(const KvBlock& b, const void* q, size_t q_stride, float scale) {
    by_group_tiles(b.group, [&]<int G>(int64_t g0) {
      const BlockQ8_0* qg[G];
      for (int g = 0; g < G; ++g)
        qg[g] = reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(q) + (g0 + g) * q_stride);
      const int64_t blocks = b.head_dim / kQK;
      in_steps<kKeyTile<G>>(b.n_keys, [&]<int KT>(int64_t j0) {
        const BlockQ8_0* k[KT];
        for (int t = 0; t < KT; ++t) k[t] = reinterpret_cast<const BlockQ8_0*>(b.rows + (j0 + t) * b.row_stride);
        __m256 acc[KT][G];
        for (auto& row : acc)
          for (auto& a : row) a = _mm256_setzero_ps();
        for (int64_t blk = 0; blk < blocks; ++blk) {
          __m256i qq[G];
          float dq[G];
          for (int g = 0; g < G; ++g) {
            qq[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qg[g][blk].qs));
            dq[g] = _cvtsh_ss(qg[g][blk].d);
          }
          for (int t = 0; t < KT; ++t) {
            const __m256i kq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k[t][blk].qs));
            const float dk = _cvtsh_ss(k[t][blk].d);
            for (int g = 0; g < G; ++g)
              acc[t][g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(V::byte_dot(kq, qq[g])), _mm256_set1_ps(dk * dq[g]), acc[t][g]);
          }
        }
        for (int t = 0; t < KT; ++t)
          for (int g = 0; g < G; ++g) b.scores[(g0 + g) * b.score_stride + j0 + t] = scale * hsum(acc[t][g]);
      });
    });
  }

  // out[g] += sum_j w[g, j] v_j: a tile of G heads by IC register slices of the output stays
  // in registers across the block's keys, so each value vector is converted once per tile.
  template <class E>
  static void accumulate(const KvBlock& b, float* out) {
    by_group_tiles(b.group, [&]<int G>(int64_t g0) {
      const float* w[G];
      float* o[G];
      for (int g = 0; g < G; ++g) {
        w[g] = b.scores + (g0 + g) * b.score_stride;
        o[g] = out + (g0 + g) * b.head_dim;
      }
      in_steps<kSliceTile<G>>(b.head_dim / kLanes, [&]<int IC>(int64_t c0) {
        const int64_t i0 = c0 * kLanes;
        Reg acc[G][IC];
        for (int g = 0; g < G; ++g)
          for (int c = 0; c < IC; ++c) acc[g][c] = V::load(o[g] + i0 + c * kLanes);
        for (int64_t j = 0; j < b.n_keys; ++j) {
          const uint8_t* row = b.rows + j * b.row_stride;
          Reg v[IC];
          for (int c = 0; c < IC; ++c) v[c] = E::load(row, i0 + c * kLanes);
          for (int g = 0; g < G; ++g) {
            const Reg wg = V::set1(w[g][j]);
            for (int c = 0; c < IC; ++c) acc[g][c] = V::fma(wg, v[c], acc[g][c]);
          }
        }
        for (int g = 0; g < G; ++g)
          for (int c = 0; c < IC; ++c) V::store(o[g] + i0 + c * kLanes, acc[g][c]);
      });
      for (int64_t i = b.head_dim / kLanes * kLanes; i < b.head_dim; ++i)
        for (int64_t j = 0; j < b.n_keys; ++j) {
          const float v = E::at(b.rows + j * b.row_stride, i);
          for (int g = 0; g < G; ++g) o[g][i] += w[g][j] * v;
        }
    });
  }

  static void add_to(IsaKernels& k) {
    k.set_kv_kernels(DType::F32, {.scores = float_scores<F32>, .accumulate = accumulate<F32>});
    k.set_kv_kernels(DType::F16, {.scores = float_scores<F16>, .accumulate = accumulate<F16>});
    k.set_kv_kernels(DType::Q8_0, {.scores = q8_scores, .accumulate = accumulate<Q8>});
  }
};

}  // namespace orchard::cpu
