// AMX-INT8 batch matmul for prompts (the approach of ggml's AMX mmq): y[n, rows] = x * w^T
// with x in q8_0. Each thread takes a run of weight rows, converts it once into the layout
// the tile unit reads (signed int8 quants in VNNI order, f32 scales), then runs every token
// group against it. One tdpbssd covers one 32-element block, 16 tokens x 16 rows, because
// every block has its own scale; the int32 sums are then scaled and accumulated in f32 with
// AVX-512. The conversion is paid once per matmul and reused by all n tokens, so the weights
// stay in their file layout (no load-time repack, no extra memory).
#include "kernels/cpu/x86/matmul_amx.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "core/threadpool.h"
#include "quant/blocks.h"

// GCC 12's AVX-512 intrinsics start from an undefined vector and warn about it: a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace orchard::cpu::amx {
namespace {

constexpr int kTileM = 16;  // tokens per tile (A and C rows)
constexpr int kTileN = 16;  // weight rows per tile (C columns)
// Weight tiles converted together: each activation tile is loaded while it is still in cache
// for all of them, which cuts the activation traffic (n x k bytes per run of rows).
constexpr int kTilesPerRun = 8;
constexpr int kRunRows = kTileN * kTilesPerRun;
constexpr int kBlockTileBytes = kTileN * kQK;  // one block of 16 rows in VNNI order: 8 x 64 bytes

// Tile registers: tmm0..1 activations, tmm2..3 weights, tmm4..5 sums (two blocks in flight,
// so one block's store and f32 scaling overlap the other's dot product).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

void configure_tiles() {
  TileConfig cfg;
  for (int t = 0; t <= 1; ++t) cfg.rows[t] = kTileM, cfg.colsb[t] = kQK;          // 16 tokens x 32 int8
  for (int t = 2; t <= 3; ++t) cfg.rows[t] = kQK / 4, cfg.colsb[t] = kTileN * 4;  // 8 x (16 rows x 4 int8)
  for (int t = 4; t <= 5; ++t) cfg.rows[t] = kTileM, cfg.colsb[t] = kTileN * 4;   // 16 x 16 int32
  _tile_loadconfig(&cfg);
}

// The 32 signed quants of a weight block, and its scale.
void unpack(const BlockQ8_0& b, int8_t (&q)[kQK]) { std::memcpy(q, b.qs, kQK); }
void unpack(const BlockQ4_0& b, int8_t (&q)[kQK]) {
  for (int j = 0; j < kQK / 2; ++j) {
    q[j] = static_cast<int8_t>((b.qs[j] & 15) - 8);
    q[j + kQK / 2] = static_cast<int8_t>((b.qs[j] >> 4) - 8);
  }
}
float scale(uint16_t h) { return _cvtsh_ss(h); }

// A run of weight rows in tile layout: per tile of 16 rows and 32-element block, the quants
// in VNNI order and the rows' f32 scales. Rows past the matrix are zero.
struct RunBuffer {
  std::vector<int8_t> quants;  // [tile][block] x kBlockTileBytes
  std::vector<float> scales;   // [tile][block] x kTileN
};

template <class Block>
void convert_run(const Tensor& w, int64_t r0, int64_t nb, RunBuffer& buf) {
  buf.quants.assign(static_cast<size_t>(kTilesPerRun * nb * kBlockTileBytes), 0);
  buf.scales.assign(static_cast<size_t>(kTilesPerRun * nb * kTileN), 0.0f);
  const int64_t rows = std::min<int64_t>(kRunRows, w.rows() - r0);
  int8_t q[kQK];
  for (int64_t r = 0; r < rows; ++r) {
    const auto* blocks = reinterpret_cast<const Block*>(w.row(r0 + r));
    const int64_t tile = r / kTileN, col = r % kTileN;
    for (int64_t b = 0; b < nb; ++b) {
      unpack(blocks[b], q);
      // VNNI order: tile row i holds quants 4i..4i+3 of each of the 16 weight rows.
      int8_t* dst = buf.quants.data() + (tile * nb + b) * kBlockTileBytes + col * 4;
      for (int i = 0; i < kQK / 4; ++i) std::memcpy(dst + i * kTileN * 4, q + 4 * i, 4);
      buf.scales[static_cast<size_t>((tile * nb + b) * kTileN + col)] = scale(blocks[b].d);
    }
  }
}

struct Problem {
  const uint8_t* x;       // q8_0 activation rows
  size_t x_stride;
  const float* x_scales;  // [n][nb] activation block scales
  float* y;
  int64_t n, rows, nb;
};

// acc[t] += sums[t] * (w_scales * a_scale[t]) for the 16 tokens of one block.
inline void accumulate(__m512 (&acc)[kTileM], const int32_t (&sums)[kTileM][kTileN], const float* w_scales,
                       const float* a_scales, int64_t a_scale_stride) {
  const __m512 ws = _mm512_loadu_ps(w_scales);
#pragma GCC unroll 16
  for (int t = 0; t < kTileM; ++t) {
    const __m512 s = _mm512_mul_ps(ws, _mm512_set1_ps(a_scales[t * a_scale_stride]));
    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(sums[t])), s, acc[t]);
  }
}

// Tokens [t0, t0 + 16) (rows of `a`, x_stride apart; `a_scales` their block scales, nb apart)
// against one converted tile of 16 weight rows starting at row r0; writes the valid part of y.
void tile_times_tokens(const Problem& p, const int8_t* quants, const float* w_scales, const uint8_t* a,
                       const float* a_scales, int64_t t0, int64_t r0) {
  __m512 acc[kTileM];
  for (auto& v : acc) v = _mm512_setzero_ps();
  alignas(64) int32_t sums[2][kTileM][kTileN];
  const uint8_t* qs = a + offsetof(BlockQ8_0, qs);
  constexpr size_t kBlock = sizeof(BlockQ8_0);
  int64_t b = 0;
  for (; b + 2 <= p.nb; b += 2) {
    _tile_loadd(0, qs + b * kBlock, p.x_stride);
    _tile_loadd(2, quants + b * kBlockTileBytes, kTileN * 4);
    _tile_loadd(1, qs + (b + 1) * kBlock, p.x_stride);
    _tile_loadd(3, quants + (b + 1) * kBlockTileBytes, kTileN * 4);
    _tile_zero(4);
    _tile_zero(5);
    _tile_dpbssd(4, 0, 2);
    _tile_dpbssd(5, 1, 3);
    _tile_stored(4, sums[0], kTileN * 4);
    _tile_stored(5, sums[1], kTileN * 4);
    accumulate(acc, sums[0], w_scales + b * kTileN, a_scales + b, p.nb);
    accumulate(acc, sums[1], w_scales + (b + 1) * kTileN, a_scales + b + 1, p.nb);
  }
  if (b < p.nb) {  // odd block count
    _tile_loadd(0, qs + b * kBlock, p.x_stride);
    _tile_loadd(2, quants + b * kBlockTileBytes, kTileN * 4);
    _tile_zero(4);
    _tile_dpbssd(4, 0, 2);
    _tile_stored(4, sums[0], kTileN * 4);
    accumulate(acc, sums[0], w_scales + b * kTileN, a_scales + b, p.nb);
  }
  const int64_t tokens = std::min<int64_t>(kTileM, p.n - t0);
  const auto cols = static_cast<int>(std::min<int64_t>(kTileN, p.rows - r0));
  const auto mask = static_cast<__mmask16>((1u << cols) - 1);
  for (int64_t t = 0; t < tokens; ++t) _mm512_mask_storeu_ps(p.y + (t0 + t) * p.rows + r0, mask, acc[t]);
}

// Per pool thread: its converted run, and the last partial token group padded to 16 rows
// with zero quants and scales (tile loads always read 16 rows).
struct ThreadScratch {
  RunBuffer run;
  std::vector<uint8_t> tail;
  std::vector<float> tail_scales;
};

template <class Block>
void run_rows(const Problem& p, const Tensor& w, int64_t r0, ThreadScratch& s) {
  convert_run<Block>(w, r0, p.nb, s.run);
  const int64_t tiles = std::min<int64_t>(kTilesPerRun, (p.rows - r0 + kTileN - 1) / kTileN);
  const int64_t full = p.n / kTileM * kTileM;
  for (int64_t t0 = 0; t0 < p.n; t0 += kTileM) {
    const bool tail = t0 >= full;
    const uint8_t* a = tail ? s.tail.data() : p.x + t0 * p.x_stride;
    const float* a_scales = tail ? s.tail_scales.data() : p.x_scales + t0 * p.nb;
    for (int64_t tile = 0; tile < tiles; ++tile)
      tile_times_tokens(p, s.run.quants.data() + tile * p.nb * kBlockTileBytes,
                        s.run.scales.data() + tile * p.nb * kTileN, a, a_scales, t0, r0 + tile * kTileN);
  }
}

void prepare_tail(const Problem& p, ThreadScratch& s) {
  const int64_t full = p.n / kTileM * kTileM, left = p.n - full;
  s.tail.assign(kTileM * p.x_stride, 0);
  s.tail_scales.assign(static_cast<size_t>(kTileM * p.nb), 0.0f);
  if (left == 0) return;
  std::memcpy(s.tail.data(), p.x + full * p.x_stride, static_cast<size_t>(left) * p.x_stride);
  std::memcpy(s.tail_scales.data(), p.x_scales + full * p.nb, static_cast<size_t>(left * p.nb) * sizeof(float));
}

template <class Block>
void batch_matmul_of(ThreadPool& pool, const Tensor& w, const void* x, size_t x_stride, float* y, int64_t n) {
  const int64_t nb = w.cols() / kQK;
  static thread_local std::vector<float> x_scales_buffer;  // the calling thread's
  x_scales_buffer.resize(static_cast<size_t>(n * nb));
  float* x_scales = x_scales_buffer.data();
  const Problem p{static_cast<const uint8_t*>(x), x_stride, x_scales, y, n, w.rows(), nb};
  pool.parallel_for(n, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      const auto* blocks = reinterpret_cast<const BlockQ8_0*>(p.x + t * x_stride);
      for (int64_t b = 0; b < nb; ++b) x_scales[t * nb + b] = scale(blocks[b].d);
    }
  });
  const int64_t runs = (p.rows + kRunRows - 1) / kRunRows;
  std::atomic<int64_t> next{0};
  pool.parallel_for(pool.size(), [&](int64_t, int64_t, int) {
    static thread_local ThreadScratch scratch;
    configure_tiles();
    prepare_tail(p, scratch);
    for (int64_t run; (run = next.fetch_add(1, std::memory_order_relaxed)) < runs;)
      run_rows<Block>(p, w, run * kRunRows, scratch);
    _tile_release();  // the thread's tile state need not be saved on every context switch
  });
}

}  // namespace

bool batch_matmul(ThreadPool& pool, const Tensor& w, const void* x, size_t x_stride, float* y, int64_t n) {
  switch (w.dtype()) {
    case DType::Q8_0: batch_matmul_of<BlockQ8_0>(pool, w, x, x_stride, y, n); return true;
    case DType::Q4_0: batch_matmul_of<BlockQ4_0>(pool, w, x, x_stride, y, n); return true;
    default: return false;
  }
}

}  // namespace orchard::cpu::amx
