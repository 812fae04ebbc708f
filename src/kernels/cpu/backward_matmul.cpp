// Gradients of y[n, out] = x[n, in] * w^T.
//
// dx = dy * w reads w by rows like the forward, but every weight row contributes to every
// column of dx, so threads split dx by column tiles (block-aligned, so a quantized row slice
// decodes on its own) and each walks all weight rows, decoding a few rows of its slice at a
// time into an L1/L2-sized buffer. No two threads write the same dx element.
//
// dw = dy^T * x splits the weight rows among the threads; four rows at a time share each
// loaded slice of an x row.
#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threadpool.h"
#include "kernels/cpu/backward.h"
#include "quant/quant.h"

namespace orchard::cpu {

namespace {

constexpr int64_t kColumnTile = 512;  // floats of a dx / dw row slice kept hot
constexpr int64_t kRowChunk = 32;     // weight rows decoded per step (32 x 512 x 4 B = 64 KiB)

// y[c] += a0 r0[c] + a1 r1[c] + a2 r2[c] + a3 r3[c]: one load and store of y per four rows.
void axpy4(float* __restrict y, const float* __restrict r0, const float* __restrict r1, const float* __restrict r2,
           const float* __restrict r3, float a0, float a1, float a2, float a3, int64_t n) {
  for (int64_t c = 0; c < n; ++c) y[c] += a0 * r0[c] + a1 * r1[c] + a2 * r2[c] + a3 * r3[c];
}

void axpy(float* __restrict y, const float* __restrict r, float a, int64_t n) {
  for (int64_t c = 0; c < n; ++c) y[c] += a * r[c];
}

}  // namespace

void matmul_backward_x(ThreadPool& pool, const Tensor& w, const float* dy, float* dx, int64_t n) {
  if (w.ndim() != 2) throw Error("matmul backward: weight " + shape_str(w.shape()) + " is not 2-D");
  const DType type = w.dtype();
  const QuantTraits* traits = quant_traits(type);
  if (!traits) throw Error("matmul backward: weight type " + std::string(dtype_name(type)) + " cannot be decoded");
  const int64_t out = w.dim(0), in = w.dim(1);
  const int64_t block = dtype_info(type).block_size;
  if (in % block != 0)
    throw Error("matmul backward: weight " + shape_str(w.shape()) + " rows are not whole " +
                std::string(dtype_name(type)) + " blocks");
  const int64_t tile = std::max(block, kColumnTile / block * block);
  const int64_t n_tiles = (in + tile - 1) / tile;
  const bool direct = type == DType::F32;  // f32 rows are read in place

  pool.parallel_for(n_tiles, [&](int64_t begin, int64_t end, int) {
    std::vector<float> buffer(direct ? 0 : static_cast<size_t>(kRowChunk * tile));
    std::vector<const float*> rows(kRowChunk);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t c0 = t * tile, width = std::min(tile, in - c0);
      const size_t offset = row_bytes(type, c0);
      for (int64_t o0 = 0; o0 < out; o0 += kRowChunk) {
        const int64_t m = std::min(kRowChunk, out - o0);
        for (int64_t r = 0; r < m; ++r) {
          if (direct) {
            rows[r] = w.f32() + (o0 + r) * in + c0;
          } else {
            traits->to_float(w.row(o0 + r) + offset, buffer.data() + r * tile, width);
            rows[r] = buffer.data() + r * tile;
          }
        }
        for (int64_t i = 0; i < n; ++i) {
          float* dxi = dx + i * in + c0;
          const float* a = dy + i * out + o0;
          int64_t r = 0;
          for (; r + 4 <= m; r += 4)
            axpy4(dxi, rows[r], rows[r + 1], rows[r + 2], rows[r + 3], a[r], a[r + 1], a[r + 2], a[r + 3], width);
          for (; r < m; ++r) axpy(dxi, rows[r], a[r], width);
        }
      }
    }
  });
}

void matmul_backward_w(ThreadPool& pool, const float* x, const float* dy, float* dw, int64_t n, int64_t in,
                       int64_t out) {
  pool.parallel_for((out + 3) / 4, [&](int64_t begin, int64_t end, int) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t o0 = b * 4, m = std::min<int64_t>(4, out - o0);
      for (int64_t c0 = 0; c0 < in; c0 += kColumnTile) {
        const int64_t width = std::min(kColumnTile, in - c0);
        for (int64_t i = 0; i < n; ++i) {
          const float* xi = x + i * in + c0;
          const float* a = dy + i * out + o0;
          if (m == 4) {
            float* __restrict w0 = dw + o0 * in + c0;
            float* __restrict w1 = w0 + in;
            float* __restrict w2 = w1 + in;
            float* __restrict w3 = w2 + in;
            for (int64_t c = 0; c < width; ++c) {
              w0[c] += a[0] * xi[c];
              w1[c] += a[1] * xi[c];
              w2[c] += a[2] * xi[c];
              w3[c] += a[3] * xi[c];
            }
          } else {
            for (int64_t r = 0; r < m; ++r) axpy(dw + (o0 + r) * in + c0, xi, a[r], width);
          }
        }
      }
    }
  });
}

}  // namespace orchard::cpu
