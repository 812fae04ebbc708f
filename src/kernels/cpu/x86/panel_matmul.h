#pragma once
// The AVX-512 VNNI prompt-batch matmul over the affine-u8 view of every int8-dot weight
// format (panel_matmul_avx512.cpp), used by the avx512 kernel table for n >= batch_min_tokens.
#include <cstddef>
#include <cstdint>

#include "core/tensor.h"

namespace orchard {
class ThreadPool;
}

namespace orchard::cpu::avx512_panel {

// BatchMatmulFn: x holds n rows (x_stride bytes apart) in w's vec_dot_type (q8_0, q8_1 or
// q8_K). Declines (returns false) formats without an int8 dot product (f32, f16, bf16, ...).
bool batch_matmul(ThreadPool& pool, const Tensor& w, const void* x, size_t x_stride, float* y, int64_t n);

}  // namespace orchard::cpu::avx512_panel
