// Gradients of y[n, out] = x[n, in] * w^T.
//
// dx = dy * w reads w by rows like the forward, but every weight row contributes to every
// column of dx, so work items are column tiles of dx (block-aligned, so a quantized row slice
// decodes on its own) times chunks of its rows, each walking all weight rows and decoding a
// few rows of its slice at a time into an L2-sized buffer. No two items write the same dx
// element; the row chunks keep the threads busy when dx has fewer tiles than they are.
//
// dw = dy^T * x splits the weight rows among the threads, each walking column tiles and
// chunks of x rows. Both are the same small GEMM (c += a * b over a depth, a reading dy along
// its rows or its columns) of the ISA's axpy.
#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threadpool.h"
#include "kernels/cpu/backward.h"
#include "quant/quant.h"

namespace orchard::cpu {

namespace {

constexpr int64_t kColumnTile = 512;  // columns of dx / dw (and of the B panel) per step
constexpr int64_t kRowChunk = 32;     // weight rows (dx) or x rows (dw) per step: 32 x 512 x 4 B = 64 KiB
constexpr int64_t kTokenChunk = 64;   // dx rows per work item: decoding a slice is shared by this many

// C[rows, width] += A * B with A[m, k] = a[m * am + k * ak] and B [depth, width] row-major
// (rows ldb apart), by the ISA's axpy along each row of C. B (a chunk of weight rows or of x
// rows) is small enough to stay in L2 while every row of C sweeps it.
void gemm(const IsaKernels& kernels, const float* a, int64_t am, int64_t ak, const float* b, int64_t ldb, float* c,
          int64_t ldc, int64_t rows, int64_t width, int64_t depth) {
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t k = 0; k < depth; ++k) kernels.axpy(a[m * am + k * ak], b + k * ldb, c + m * ldc, width);
}

}  // namespace

void matmul_backward_x(const IsaKernels& kernels, ThreadPool& pool, const Tensor& w, const float* dy, float* dx,
                       int64_t n) {
  if (w.ndim() != 2) throw Error("matmul backward: weight " + shape_str(w.shape()) + " is not 2-D");
  const DType type = w.dtype();
  const QuantTraits* traits = quant_traits(type);
  if (!traits) throw Error("matmul backward: weight type " + std::string(dtype_name(type)) + " cannot be decoded");
  const int64_t out = w.dim(0), in = w.dim(1);
  const int64_t block_size = dtype_info(type).block_size;
  if (in % block_size != 0)
    throw Error("matmul backward: weight " + shape_str(w.shape()) + " rows are not whole " +
                std::string(dtype_name(type)) + " blocks");
  const int64_t tile = std::max(block_size, kColumnTile / block_size * block_size);
  const int64_t n_tiles = (in + tile - 1) / tile, n_chunks = (n + kTokenChunk - 1) / kTokenChunk;
  const bool direct = type == DType::F32;  // f32 rows are read in place

  pool.parallel_for(n_tiles * n_chunks, [&](int64_t begin, int64_t end, int) {
    std::vector<float> buffer(direct ? 0 : static_cast<size_t>(kRowChunk * tile));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t c0 = item % n_tiles * tile, width = std::min(tile, in - c0);
      const int64_t i0 = item / n_tiles * kTokenChunk, rows = std::min(kTokenChunk, n - i0);
      const size_t offset = row_bytes(type, c0);
      for (int64_t o0 = 0; o0 < out; o0 += kRowChunk) {
        const int64_t m = std::min(kRowChunk, out - o0);
        if (!direct)
          for (int64_t r = 0; r < m; ++r) traits->to_float(w.row(o0 + r) + offset, buffer.data() + r * tile, width);
        const float* b = direct ? w.f32() + o0 * in + c0 : buffer.data();
        gemm(kernels, dy + i0 * out + o0, out, 1, b, direct ? in : tile, dx + i0 * in + c0, in, rows, width, m);
      }
    }
  });
}

// dw rows are split among the threads; each walks column tiles and chunks of x rows.
void matmul_backward_w(const IsaKernels& kernels, ThreadPool& pool, const float* x, const float* dy, float* dw,
                       int64_t n, int64_t in, int64_t out) {
  pool.parallel_for(out, [&](int64_t begin, int64_t end, int) {
    for (int64_t c0 = 0; c0 < in; c0 += kColumnTile) {
      const int64_t width = std::min(kColumnTile, in - c0);
      for (int64_t i0 = 0; i0 < n; i0 += kRowChunk) {
        const int64_t depth = std::min(kRowChunk, n - i0);
        gemm(kernels, dy + i0 * out + begin, 1, out, x + i0 * in + c0, in, dw + begin * in + c0, in, end - begin, width,
             depth);
      }
    }
  });
}

}  // namespace orchard::cpu
