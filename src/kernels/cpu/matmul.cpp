// The matmul driver: picks the tile kernel for the weight's dtype, converts the activations
// once, then walks output tiles. Threads take runs of weight rows from a shared counter (each
// weight byte is read by one thread, and a thread that starts late or runs slow simply takes
// fewer runs); every tile of kTileRows rows is applied to all tokens kTileTokens at a time
// while those rows are still in cache, so prefill reuses each weight load across many tokens.
#include "kernels/cpu/matmul.h"

#include <algorithm>
#include <atomic>
#include <string>

#include "core/error.h"
#include "core/threadpool.h"
#include "quant/blocks.h"
#include "quant/quant.h"

namespace orchard::cpu {
namespace {

struct WeightPath {
  MatmulTileFn tile = nullptr;
  DType activation = DType::F32;  // format the tile kernel wants x in
  bool dequantize = false;        // decode weight rows to f32 first, then use tile (f32_f32)
};

WeightPath path_for(const IsaKernels& k, DType t) {
  switch (t) {
    case DType::F32: return {k.f32_f32, DType::F32, false};
    case DType::F16: return {k.f16_f32, DType::F32, false};
    case DType::BF16: return {k.bf16_f32, DType::F32, false};
    case DType::Q8_0: return {k.q8_0_q8_0, DType::Q8_0, false};
    case DType::Q4_0: return {k.q4_0_q8_0, DType::Q8_0, false};
    default: return {k.f32_f32, DType::F32, true};
  }
}

void check_weight(const Tensor& w) {
  if (w.ndim() != 2) throw Error("matmul: weight must be 2-D, got " + shape_str(w.shape()));
  if (!quant_traits(w.dtype()))
    throw Error("matmul: weights of type " + std::string(dtype_name(w.dtype())) + " are not supported");
  // Tile kernels work on whole 32-element blocks, k-quants on 256-element super-blocks.
  const int64_t block = std::max<int64_t>(dtype_info(w.dtype()).block_size, kQK);
  if (w.cols() % block != 0)
    throw Error("matmul: input dimension " + std::to_string(w.cols()) + " of a " +
                std::string(dtype_name(w.dtype())) + " weight is not a multiple of " + std::to_string(block));
}

}  // namespace

void matmul(const IsaKernels& kernels, ThreadPool& pool, MatmulScratch& scratch, const Tensor& w, const float* x,
            float* y, int64_t n) {
  check_weight(w);
  if (n <= 0) return;
  const int64_t rows = w.rows(), k = w.cols();
  const WeightPath path = path_for(kernels, w.dtype());

  const void* act = x;
  size_t act_stride = static_cast<size_t>(k) * sizeof(float);
  if (path.activation != DType::F32) {
    act_stride = row_bytes(path.activation, k);
    scratch.activations.resize(act_stride * static_cast<size_t>(n));
    uint8_t* dst = scratch.activations.data();
    pool.parallel_for(n, [&](int64_t begin, int64_t end, int) {
      for (int64_t t = begin; t < end; ++t) quantize_row(path.activation, x + t * k, dst + t * act_stride, k);
    });
    act = dst;
  }
  if (path.dequantize) {
    scratch.dequantized.resize(static_cast<size_t>(pool.size()));
    for (auto& buf : scratch.dequantized) buf.resize(static_cast<size_t>(kTileRows * k));
  }

  // All tokens against rows [r0, r0 + kTileRows), kTileTokens tokens per kernel call.
  const int64_t row_tiles = (rows + kTileRows - 1) / kTileRows;
  auto run_row_tile = [&](int64_t row_tile, int thread) {
    const int64_t r0 = row_tile * kTileRows;
    MatmulTile tile{};
    tile.rows = static_cast<int>(std::min<int64_t>(kTileRows, rows - r0));
    tile.k = k;
    tile.w = w.row(r0);
    tile.w_stride = w.row_bytes();
    if (path.dequantize) {
      float* decoded = scratch.dequantized[static_cast<size_t>(thread)].data();
      for (int r = 0; r < tile.rows; ++r) dequantize_row(w.dtype(), w.row(r0 + r), decoded + r * k, k);
      tile.w = reinterpret_cast<const uint8_t*>(decoded);
      tile.w_stride = static_cast<size_t>(k) * sizeof(float);
    }
    tile.x_stride = act_stride;
    tile.y_stride = rows;
    for (int64_t t0 = 0; t0 < n; t0 += kTileTokens) {
      tile.tokens = static_cast<int>(std::min<int64_t>(kTileTokens, n - t0));
      tile.x = static_cast<const uint8_t*>(act) + t0 * act_stride;
      tile.y = y + t0 * rows + r0;
      path.tile(tile);
    }
  };

  constexpr int64_t kTilesPerRun = 8;  // 32 rows: small enough to balance, long enough to stream
  std::atomic<int64_t> next_run{0};
  pool.parallel_for(pool.size(), [&](int64_t, int64_t, int thread) {
    for (;;) {
      const int64_t first = next_run.fetch_add(kTilesPerRun, std::memory_order_relaxed);
      if (first >= row_tiles) return;
      for (int64_t rt = first; rt < std::min(first + kTilesPerRun, row_tiles); ++rt) run_row_tile(rt, thread);
    }
  });
}

}  // namespace orchard::cpu
