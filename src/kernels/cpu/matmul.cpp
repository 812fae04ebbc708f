// The matmul driver: one token goes to the weight type's GEMV kernel where the ISA has one
// (its own activation layout, each thread one contiguous range of rows). Otherwise it looks up the weight type's activation format (QuantTraits::vec_dot_type)
// and this ISA's tile kernel, quantizes the activations once, then either hands the whole
// product to the ISA's batch kernel (prompt batches, e.g. AMX) or walks output tiles. Threads
// take runs of weight rows from a shared counter (each weight byte is read by one thread, and a
// thread that starts late or runs slow simply takes fewer runs); every tile of kTileRows rows
// is applied to all tokens kTileTokens at a time while those rows are still in cache, so
// prefill reuses each weight load across many tokens.
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
  bool dequantize = false;        // no kernel for this type: decode rows to f32, use the f32 tile
};

WeightPath path_for(const IsaKernels& k, DType t) {
  if (MatmulTileFn tile = k.tile(t)) return {tile, quant_traits(t)->vec_dot_type, false};
  return {k.tile(DType::F32), DType::F32, true};
}

void check_weight(const Tensor& w) {
  if (w.ndim() != 2) throw Error("matmul: weight must be 2-D, got " + shape_str(w.shape()));
  const QuantTraits* traits = quant_traits(w.dtype());
  if (!traits || !traits->to_float)
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
  if (const GemvKernel& gemv = kernels.gemv[dtype_index(w.dtype())]; n == 1 && gemv.rows) {
    scratch.activations.resize(gemv.act_bytes(k));
    gemv.prepare(x, scratch.activations.data(), k);
    // Rows cost the same: equal contiguous ranges keep each thread's reads one stream.
    pool.parallel_for(rows, [&](int64_t begin, int64_t end, int) {
      gemv.rows(w.row(begin), w.row_bytes(), end - begin, scratch.activations.data(), k, y + begin);
    });
    return;
  }
  const WeightPath path = path_for(kernels, w.dtype());

  const void* act = x;
  size_t act_stride = static_cast<size_t>(k) * sizeof(float);
  if (path.activation != DType::F32) {
    act_stride = row_bytes(path.activation, k);
    scratch.activations.resize(act_stride * static_cast<size_t>(n));
    uint8_t* dst = scratch.activations.data();
    const FromFloatFn fast = kernels.quantize_activations[dtype_index(path.activation)];
    auto quantize = [&](int64_t begin, int64_t end, int) {
      for (int64_t t = begin; t < end; ++t) {
        if (fast) fast(x + t * k, dst + t * act_stride, k);
        else quantize_row(path.activation, x + t * k, dst + t * act_stride, k);
      }
    };
    // Prompt batches: token rows split across the pool (single-threaded it was ~14% of prefill
    // with the reference encoder). A few rows take the fast quantizers about a microsecond
    // each, less than waking the pool costs.
    constexpr int64_t kParallelElements = int64_t{1} << 15;
    if (n * k >= kParallelElements) pool.parallel_for(n, quantize);
    else quantize(0, n, 0);
    act = dst;
  }
  if (!path.dequantize && kernels.batch_matmul && n >= kernels.batch_min_tokens &&
      kernels.batch_matmul(pool, w, act, act_stride, y, n))
    return;
  if (path.dequantize) {
    scratch.dequantized.resize(static_cast<size_t>(pool.size()));
    for (auto& buf : scratch.dequantized) buf.resize(static_cast<size_t>(kTileRows * k));
  }

  // All tokens against rows [r0, r0 + kTileRows), kTileTokens tokens per kernel call.
  const int64_t row_tiles = (rows + kTileRows - 1) / kTileRows;
  auto run_row_tile = [&](int64_t row_tile, int thread) {
    const int64_t r0 = row_tile * kTileRows;
    MatmulTile tile{};
    tile.w_type = path.dequantize ? DType::F32 : w.dtype();
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
